// `kache why-miss build_script_build`: every build script has that crate name, so the earlier entry
// it is compared with must be the same package's (cargo's `build/<package>-<hash>` out-dir says which).
import { describe, expect, test } from "bun:test";
import { buildScriptPackage, nearestEarlier } from "../../../src/cli/why-miss";
import type { Entry } from "../../../src/store/index-db";

function entry(key: string, crate: string, outDir: string, created: number, sources: string[]): Entry {
  return {
    key,
    crate,
    crateTypes: ["bin"],
    target: "x86_64-unknown-linux-gnu",
    profile: "dev",
    features: [],
    files: [],
    stdout: "",
    stderr: "",
    compileMs: 100,
    size: 1,
    hits: 0,
    created,
    lastUsed: created,
    components: { flags: [`out-dir=${outDir}`, "emit=link"], sources },
    boundTo: null,
  };
}

const anyhow = entry("a1", "build_script_build", "<TARGET>/debug/build/anyhow-0123456789abcdef", 1, [
  "build.rs=aa",
]);
const serdeOld = entry("s1", "build_script_build", "<TARGET>/debug/build/serde_json-fedcba9876543210", 2, [
  "build.rs=s1",
]);
const serdeNew = entry("s2", "build_script_build", "<TARGET>/debug/build/serde_json-fedcba9876543210", 3, [
  "build.rs=s2",
]);

describe("why-miss for build scripts", () => {
  test("the package comes from the out-dir; other crates have none", () => {
    expect(buildScriptPackage(serdeNew)).toBe("serde_json");
    expect(buildScriptPackage(entry("c", "fixture_core", "<TARGET>/debug/deps", 1, []))).toBeNull();
  });

  test("a build script is compared with its own package's earlier entry only", () => {
    expect(nearestEarlier(serdeNew, [anyhow, serdeOld, serdeNew]).entry?.key).toBe("s1");
    // serde_json's first build script has nothing to compare with, though anyhow's is older.
    expect(nearestEarlier(serdeOld, [anyhow, serdeOld, serdeNew]).entry).toBeNull();
  });
});
