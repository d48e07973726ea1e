// Sanity check of the e2e harness itself: fixture copies build and run with plain cargo (no kache).
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  cargo,
  copyFixture,
  hashTree,
  newCacheDir,
  PATH_WS_OUTPUT,
  parseProgressLines,
  removeTempDirs,
  runBinary,
} from "./harness";

afterAll(removeTempDirs);

test("copyFixture places the fixture at the requested depth, without target/", () => {
  const workspace = copyFixture("path-ws", { under: "a/b/c" });
  expect(workspace).toEndWith(join("a", "b", "c", "path-ws"));
  expect(existsSync(join(workspace, "Cargo.lock"))).toBe(true);
  expect(existsSync(join(workspace, "core", "build-input.txt"))).toBe(true);
  expect(existsSync(join(workspace, "target"))).toBe(false);
});

test("plain cargo builds path-ws and the app prints every fact", async () => {
  const workspace = copyFixture("path-ws");
  const result = await cargo(["build", "--locked"], {
    cwd: workspace,
    cacheDir: newCacheDir(),
    wrapper: false,
  });
  expect(result.code).toBe(0);
  expect(result.compiled.sort()).toEqual(["fixture_app", "fixture_core", "fixture_macros", "fixture_noisy"]);
  expect(result.lines).toEqual([]);
  expect(result.stderr).toContain("unused variable: `unused_on_purpose`");

  const output = runBinary(join(workspace, "target", "debug", "fixture_app"));
  expect(output.trim().split("\n")).toEqual(PATH_WS_OUTPUT);

  const again = await cargo(["build", "--locked"], {
    cwd: workspace,
    cacheDir: newCacheDir(),
    wrapper: false,
  });
  expect(again.code).toBe(0);
  expect(again.compiled).toEqual([]);
  const rlibs = hashTree(join(workspace, "target", "debug"), (path) => path.endsWith(".rlib"));
  expect(Object.keys(rlibs).length).toBeGreaterThanOrEqual(3);
});

test("parseProgressLines reads the SPEC §2 format and ignores cargo's own lines", () => {
  const stderr = [
    "   Compiling fixture_core v0.1.0 (/tmp/x/core)",
    "[kache] fixture_core: local hit (2ms, 1.2 MB)",
    "[kache] serde: remote hit (40ms, 3.1 MB)",
    "[kache] build_script_build: miss (1.4s, 892 KB)",
    "[kache] ___: passthrough (--print query)",
  ].join("\n");
  expect(parseProgressLines(stderr)).toEqual([
    { crate: "fixture_core", outcome: "local hit", detail: "2ms, 1.2 MB" },
    { crate: "serde", outcome: "remote hit", detail: "40ms, 3.1 MB" },
    { crate: "build_script_build", outcome: "miss", detail: "1.4s, 892 KB" },
    { crate: "___", outcome: "passthrough", detail: "--print query" },
  ]);
});
