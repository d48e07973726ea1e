// C/C++ entries in the real store: objects are copies both ways, dep files follow the checkout.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { restoreCcEntry, storeCcEntry } from "../../../src/cc/cc-store";
import { BlobStore } from "../../../src/store/blobs";
import { ensureCacheDir } from "../../../src/store/cache-dir";
import { IndexDb } from "../../../src/store/index-db";
import { PathNormaliser } from "../../../src/util/path-roots";
import { KEY_COMPONENTS, type KeyComponents } from "../../../src/wrapper/cache-key";
import { lookupEntry } from "../../../src/wrapper/record-entry";

const root = mkdtempSync(join(tmpdir(), "kache-cc-store-"));
const cacheDir = join(root, "cache");
ensureCacheDir(cacheDir);
const index = IndexDb.open(cacheDir);
const blobs = new BlobStore(cacheDir);
afterAll(() => {
  index.close();
  rmSync(root, { recursive: true, force: true });
});

function tree(name: string) {
  const dir = join(root, name);
  mkdirSync(join(dir, "out"), { recursive: true });
  const normaliser = new PathNormaliser([{ name: "WORKSPACE", path: dir }]);
  return { dir, normaliser, object: join(dir, "out", "a.o"), depFile: join(dir, "out", "a.d") };
}

const first = tree("first");
writeFileSync(first.object, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]));
writeFileSync(first.depFile, `out/a.o: a.c ${first.dir}/include/a.h\n`);
const stored = storeCcEntry(
  { index, blobs },
  {
    key: "k".repeat(64),
    crate: "a.c",
    language: "c",
    target: "x86_64-linux-gnu",
    components: Object.fromEntries(KEY_COMPONENTS.map((name) => [name, []])) as unknown as KeyComponents,
    outputs: { object: first.object, depFile: first.depFile },
    stderr: `${first.dir}/a.c:1: warning: x\n`,
    compileMs: 12,
  },
  first.normaliser,
);

test("the entry is an ordinary one: c-object, the object and a normalised dep file", () => {
  const entry = lookupEntry(index, stored.key, first.normaliser)!;
  expect(entry).toMatchObject({
    crate: "a.c",
    crateTypes: ["c-object"],
    target: "x86_64-linux-gnu",
    profile: "",
  });
  expect(entry.files.map((file) => [file.name, file.depInfo])).toEqual([
    ["a.o", false],
    ["a.d", true],
  ]);
  expect(entry.stderr).toBe("<WORKSPACE>/a.c:1: warning: x\n");
  expect(statSync(first.object).nlink).toBe(1);
});

test("a restore into another checkout copies the object and rewrites the dep file", () => {
  const second = tree("second");
  const entry = lookupEntry(index, stored.key, second.normaliser)!;
  restoreCcEntry(blobs, entry, { object: second.object, depFile: second.depFile }, second.normaliser);
  expect(readFileSync(second.object).equals(readFileSync(first.object))).toBe(true);
  expect(statSync(second.object).nlink).toBe(1);
  expect(readFileSync(second.depFile, "utf8")).toBe(`out/a.o: a.c ${second.dir}/include/a.h\n`);
});

test("a writable blob (as a remote import leaves it) is still never left hardlinked", () => {
  const entry = lookupEntry(index, stored.key, first.normaliser)!;
  const blob = blobs.path(entry.files[0]!.blob, false);
  chmodSync(blob, 0o644);
  const third = tree("third");
  restoreCcEntry(blobs, entry, { object: third.object, depFile: null }, third.normaliser);
  expect(statSync(third.object).nlink).toBe(1);
  expect(statSync(blob).nlink).toBe(1);
  expect(readFileSync(third.object).equals(readFileSync(first.object))).toBe(true);
});
