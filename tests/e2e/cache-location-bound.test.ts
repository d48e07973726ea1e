// An artifact that bakes in a local path (env!("CARGO_MANIFEST_DIR")) is cached for its own location
// only: the same checkout hits, another checkout misses instead of getting a binary that names the first.
import { afterAll, expect, test } from "bun:test";
import { cpSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { kache } from "./daemon-support";
import {
  cargo,
  KACHE_BIN,
  makeTempDir,
  newCacheDir,
  removeTarget,
  removeTempDirs,
  runBinary,
  writeWhereami,
} from "./harness";
import { remoteConfig } from "./remote-support";

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

test("kache sync --push leaves an entry that embeds its checkout path out of the bucket", async () => {
  const project = join(makeTempDir(), "pushed");
  writeWhereami(project);
  const cacheDir = newCacheDir();
  const built = await cargo(["build"], { cwd: project, cacheDir });
  expect(built.code, built.stderr).toBe(0);
  expect(built.events.map((e) => `${e.crate}: ${e.outcome}`)).toEqual(["whereami: miss"]);
  const bucket = makeTempDir("kache-e2e-bucket-");
  const env = { KACHE_CONFIG: remoteConfig({ type: "filesystem", path: bucket }) };
  const pushed = await kache(KACHE_BIN, ["sync", "--push"], cacheDir, { env });
  expect(pushed.code, pushed.stderr).toBe(0);
  const objects = (readdirSync(bucket, { recursive: true }) as string[]).filter((name) =>
    name.endsWith(".tar.zst"),
  );
  expect(objects).toEqual([]);
});
