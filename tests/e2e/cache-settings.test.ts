// Settings that change what is cached, and `kache why-miss`, on real cargo builds of path-ws.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  cargo,
  copyFixture,
  KACHE_BIN,
  newCacheDir,
  removeTarget,
  removeTempDirs,
  runBinary,
} from "./harness";

afterAll(removeTempDirs);

const EXECUTABLE_UNITS = ["build_script_build", "fixture_app", "fixture_macros"];

test("KACHE_CACHE_EXECUTABLES=0 passes binaries, build scripts and proc-macros through; libs stay cached", async () => {
  const workspace = copyFixture("path-ws");
  const cacheDir = newCacheDir();
  const env = { KACHE_CACHE_EXECUTABLES: "0" };
  const cold = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env });
  expect(cold.code, cold.stderr).toBe(0);
  const byCrate = (events: typeof cold.events) =>
    Object.fromEntries(events.map((e) => [e.crate, [e.outcome, e.reason]]));
  for (const crate of EXECUTABLE_UNITS)
    expect(byCrate(cold.events)[crate]).toEqual(["passthrough", "executables-disabled"]);
  expect(byCrate(cold.events).fixture_core).toEqual(["miss", null]);
  removeTarget(workspace);
  const warm = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env });
  expect(byCrate(warm.events).fixture_core).toEqual(["local hit", null]);
  expect(byCrate(warm.events).fixture_app).toEqual(["passthrough", "executables-disabled"]);
  expect(runBinary(join(workspace, "target/debug/fixture_app"))).toContain("util: util says hi");
});

test("kache why-miss names the component that changed, down to the file", async () => {
  const workspace = copyFixture("path-ws");
  const cacheDir = newCacheDir();
  expect((await cargo(["build", "--locked"], { cwd: workspace, cacheDir })).code).toBe(0);
  const util = join(workspace, "core/src/util.rs");
  writeFileSync(util, readFileSync(util, "utf8").replace("util says hi", "util says why"));
  expect((await cargo(["build", "--locked"], { cwd: workspace, cacheDir })).code).toBe(0);
  const whyMiss = Bun.spawnSync([KACHE_BIN, "why-miss", "fixture_core"], {
    env: { ...process.env, KACHE_CACHE_DIR: cacheDir },
  });
  const text = whyMiss.stdout.toString();
  expect(whyMiss.exitCode, whyMiss.stderr.toString()).toBe(0);
  expect(text).toContain("sources: source files");
  expect(text).toMatch(/changed core\/src\/util\.rs: [0-9a-f]{12} -> [0-9a-f]{12}/);
  expect(text).not.toContain("cfg:");
  const unknown = Bun.spawnSync([KACHE_BIN, "why-miss", "no_such_crate"], {
    env: { ...process.env, KACHE_CACHE_DIR: cacheDir },
  });
  expect(unknown.exitCode).toBe(1);
  expect(unknown.stderr.toString()).toContain("nothing recorded for no_such_crate");
});
