// The per-crate kache.toml: reading extra_inputs and hashing the files they match.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { collectExtraInputs, readCrateConfig } from "../../../src/config/crate-config";
import { hashBytes } from "../../../src/util/hash";
import { makeTempDir, removeTempDirsAfterEach, writeFile } from "./helpers";

removeTempDirsAfterEach();

function crate(files: Record<string, string>): string {
  const root = makeTempDir();
  const dir = join(root, "crate");
  writeFile(join(dir, "Cargo.toml"), '[package]\nname = "c"\n');
  for (const [path, text] of Object.entries(files)) writeFile(join(root, path), text);
  return dir;
}

test("no kache.toml means no extra inputs and no issues", () => {
  expect(readCrateConfig(crate({}))).toEqual({ extraInputs: [], issues: [] });
});

test("reads extra_inputs", () => {
  const dir = crate({ "crate/kache.toml": 'extra_inputs = [".sqlx/**/*.json", "migrations"]\n' });
  expect(readCrateConfig(dir)).toEqual({ extraInputs: [".sqlx/**/*.json", "migrations"], issues: [] });
});

test("any other key is an issue with its line; extra_inputs still applies", () => {
  const dir = crate({ "crate/kache.toml": 'extra_inputs = ["a"]\n\nextra_input = ["b"]\n' });
  const { extraInputs, issues } = readCrateConfig(dir);
  expect(extraInputs).toEqual(["a"]);
  expect(issues).toEqual([
    {
      file: join(dir, "kache.toml"),
      line: 3,
      key: "extra_input",
      message: "unknown key",
      hint: "kache.toml only takes extra_inputs",
    },
  ]);
});

test("extra_inputs must be an array of strings", () => {
  const dir = crate({ "crate/kache.toml": "extra_inputs = [1, 2]\n" });
  const { extraInputs, issues } = readCrateConfig(dir);
  expect(extraInputs).toEqual([]);
  expect(issues[0]).toMatchObject({ key: "extra_inputs", line: 1, message: "expected an array of strings" });
});

test("malformed kache.toml is one issue", () => {
  const dir = crate({ "crate/kache.toml": "extra_inputs = [\n" });
  const { issues } = readCrateConfig(dir);
  expect(issues).toHaveLength(1);
  expect(issues[0]!.message).toStartWith("invalid TOML: ");
});

test("globs match dot files, are sorted by crate-relative path and carry content hashes", () => {
  const dir = crate({
    "crate/.sqlx/query-b.json": "B",
    "crate/.sqlx/query-a.json": "A",
    "crate/.sqlx/.hidden.json": "H",
    "crate/.sqlx/notes.txt": "not json",
  });
  const { files, warnings } = collectExtraInputs(dir, [".sqlx/**/*.json"]);
  expect(warnings).toEqual([]);
  expect(files).toEqual([
    { path: ".sqlx/.hidden.json", absolute: join(dir, ".sqlx/.hidden.json"), hash: hashBytes("H") },
    { path: ".sqlx/query-a.json", absolute: join(dir, ".sqlx/query-a.json"), hash: hashBytes("A") },
    { path: ".sqlx/query-b.json", absolute: join(dir, ".sqlx/query-b.json"), hash: hashBytes("B") },
  ]);
});

test("a bare directory means everything under it, and overlapping patterns count once", () => {
  const dir = crate({
    "crate/migrations/001.sql": "one",
    "crate/migrations/nested/002.sql": "two",
    "crate/src/lib.rs": "",
  });
  const { files } = collectExtraInputs(dir, ["migrations/", "migrations/**/*.sql", "migrations/001.sql"]);
  expect(files.map((file) => file.path)).toEqual(["migrations/001.sql", "migrations/nested/002.sql"]);
});

test("a pattern reaching outside the crate works but warns", () => {
  const dir = crate({ "shared/schema.sql": "S" });
  const outside = join(dir, "..", "shared", "*.sql");
  const { files, warnings } = collectExtraInputs(dir, ["../shared/*.sql", outside, "sub/../inside"]);
  expect(files).toEqual([
    { path: "../shared/schema.sql", absolute: join(dir, "..", "shared", "schema.sql"), hash: hashBytes("S") },
  ]);
  expect(warnings).toEqual([
    "pattern ../shared/*.sql reaches outside the crate; the key is no longer portable",
    `pattern ${outside} reaches outside the crate; the key is no longer portable`,
  ]);
});

test("a changed file changes its hash", () => {
  const dir = crate({ "crate/data/x.json": "1" });
  const before = collectExtraInputs(dir, ["data"]).files[0]!.hash;
  writeFile(join(dir, "data", "x.json"), "2");
  expect(collectExtraInputs(dir, ["data"]).files[0]!.hash).not.toBe(before);
});
