// The project's .kache.toml applies to every unit of its build (SPEC §5, issue: settings per build):
// cargo runs a registry crate's rustc inside that crate's own source dir, so a config found from
// each call's cwd would skip the dependencies, and a config inside a registry crate would apply.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CargoResult, cargo, copyFixture, newCacheDir, removeTempDirs, runBinary } from "./harness";

const REGISTRY = "/usr/share/cargo/registry";
const EXPECTED = '{"name":"real-crates","crates":3,"cached":true}';

let result: CargoResult;
let workspace: string;

beforeAll(async () => {
  if (!existsSync(join(REGISTRY, "serde_derive-1.0.152"))) {
    throw new Error(`${REGISTRY} lacks Debian's serde crates: apt-get install librust-serde-derive-dev ...`);
  }
  workspace = copyFixture("real-crates");
  writeFileSync(join(workspace, ".kache.toml"), "[cache]\ncache_executables = false\n");
  result = await cargo(["build", "--locked"], { cwd: workspace, cacheDir: newCacheDir() });
  expect(result.code, result.stderr).toBe(0);
  expect(runBinary(join(workspace, "target", "debug", "real_crates")).trim()).toBe(EXPECTED);
}, 240_000);

afterAll(removeTempDirs);

test("a registry proc-macro (run from its own source dir) follows the project's cache_executables = false", () => {
  const derive = result.events.find((event) => event.crate === "serde_derive");
  expect(derive).toMatchObject({ outcome: "passthrough", reason: "executables-disabled" });
});

test("every executable of the build passes through, registry build scripts included; libraries are cached", () => {
  const executables = result.events.filter(
    (event) =>
      event.crate === "build_script_build" || event.crate === "serde_derive" || event.crate === "real_crates",
  );
  // 8 build scripts (anyhow, proc-macro2, quote, ryu, serde, serde_derive, serde_json, syn), the derive, the bin.
  expect(executables.length).toBe(10);
  expect(executables.filter((event) => event.reason !== "executables-disabled")).toEqual([]);
  const libraries = result.events.filter((event) =>
    ["serde", "serde_json", "anyhow", "syn"].includes(String(event.crate)),
  );
  expect(libraries.length).toBe(4);
  expect(libraries.every((event) => event.outcome === "miss")).toBe(true);
});
