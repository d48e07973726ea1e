// An artifact that bakes in a local path (env!("CARGO_MANIFEST_DIR")) is cached for its own location
// only: the same checkout hits, another checkout misses instead of getting a binary that names the first.
import { afterAll, expect, test } from "bun:test";
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  cargo,
  makeTempDir,
  newCacheDir,
  removeTarget,
  removeTempDirs,
  runBinary,
  writeWhereami,
} from "./harness";

afterAll(removeTempDirs);

test("a binary embedding its checkout path hits only in that checkout", async () => {
  const first = join(makeTempDir(), "first");
  writeWhereami(first);
  const cacheDir = newCacheDir();
  const build = async (cwd: string) => {
    const result = await cargo(["build"], { cwd, cacheDir });
    expect(result.code, result.stderr).toBe(0);
    return result.events.filter((e) => e.crate === "whereami").map((e) => e.outcome);
  };

  expect(await build(first)).toEqual(["miss"]);
  expect(runBinary(join(first, "target/debug/whereami")).trim()).toBe(first);
  removeTarget(first);
  expect(await build(first)).toEqual(["local hit"]);

  const second = join(makeTempDir(), "deeper", "second");
  mkdirSync(join(second, ".."), { recursive: true });
  cpSync(first, second, { recursive: true, filter: (src) => !src.includes("/target") });
  expect(await build(second)).toEqual(["miss"]);
  expect(runBinary(join(second, "target/debug/whereami")).trim()).toBe(second);
});
