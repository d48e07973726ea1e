// What a prefetch asks for: crates in build order from real `cargo metadata` output, and a saved
// manifest's entries dearest first within the budget.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  cargoMetadata,
  cratesInBuildOrder,
  insideWorkspace,
  memberCrates,
  targetsPerCrate,
} from "../../../src/daemon/prefetch";
import { PREFETCH_BUDGET_BYTES, savedFirst } from "../../../src/daemon/prefetch-plan";
import { ContentChecker, contentCheck } from "../../../src/util/hash";

const PATH_WS = join(import.meta.dir, "../../fixtures/path-ws");

describe("crates in build order", () => {
  test("path-ws from cargo metadata: every dependency before what uses it, build scripts once", async () => {
    const order = cratesInBuildOrder(await cargoMetadata("cargo", PATH_WS));
    expect([...order].sort()).toEqual([
      "build_script_build",
      "fixture_app",
      "fixture_core",
      "fixture_macros",
      "fixture_noisy",
    ]);
    expect(order.indexOf("fixture_macros")).toBeLessThan(order.indexOf("fixture_core"));
    expect(order.indexOf("fixture_core")).toBeLessThan(order.indexOf("fixture_app"));
    expect(order.indexOf("fixture_noisy")).toBeLessThan(order.indexOf("fixture_app"));
  });

  test("path-ws's members are its packages' crates, not their build script", async () => {
    const metadata = await cargoMetadata("cargo", PATH_WS);
    expect([...memberCrates(metadata)].sort()).toEqual([
      "fixture_app",
      "fixture_core",
      "fixture_macros",
      "fixture_noisy",
    ]);
  });

  test("one crate name for every build script, and for each version of a crate the graph has twice", () => {
    const counts = targetsPerCrate({
      packages: [
        {
          id: "a",
          targets: [
            { name: "a", kind: ["lib"] },
            { name: "build-script-build", kind: ["custom-build"] },
          ],
        },
        {
          id: "b",
          targets: [
            { name: "b", kind: ["lib"] },
            { name: "build-script-main", kind: ["custom-build"] },
          ],
        },
        { id: "syn 1", targets: [{ name: "syn", kind: ["lib"] }] },
        {
          id: "syn 2",
          targets: [
            { name: "syn", kind: ["lib"] },
            { name: "demo", kind: ["example"] },
          ],
        },
      ],
      resolve: null,
    });
    expect(Object.fromEntries(counts)).toEqual({ a: 1, b: 1, build_script_build: 2, syn: 2 });
  });

  test("examples, tests and benches are not built by cargo build: not prefetched", () => {
    const order = cratesInBuildOrder({
      packages: [
        {
          id: "a",
          targets: [
            { name: "a-lib", kind: ["lib"] },
            { name: "demo", kind: ["example"] },
            { name: "it", kind: ["test"] },
          ],
        },
      ],
      resolve: { nodes: [{ id: "a", deps: [] }] },
    });
    expect(order).toEqual(["a_lib"]);
  });
});

describe("a saved manifest's entries", () => {
  const key = (n: number) => n.toString(16).padStart(64, "0");
  test("dearest compile first, only this workspace's crates, none already here, within the budget", () => {
    const picked = savedFirst(
      [
        { crate: "cheap", key: key(1), size: 10, compileMs: 5 },
        { crate: "dear", key: key(2), size: 10, compileMs: 900 },
        { crate: "other", key: key(3), size: 10, compileMs: 999 },
        { crate: "here", key: key(4), size: 10, compileMs: 950 },
        { crate: "huge", key: key(5), size: PREFETCH_BUDGET_BYTES + 1, compileMs: 1000 },
      ],
      ["cheap", "dear", "here", "huge"],
      (entry) => entry.key === key(4),
    );
    expect(picked.map((entry) => entry.crate)).toEqual(["dear", "cheap"]);
  });
});

describe("the streaming content check", () => {
  test("equals contentCheck whatever the pieces, across 1 MiB chunk edges", () => {
    const data = new Uint8Array(3 * 1024 * 1024 + 12345).map((_, i) => (i * 7919) % 251);
    for (const piece of [1, 4096, 65536, 1024 * 1024, 1024 * 1024 + 1, data.length]) {
      const checker = new ContentChecker();
      for (let at = 0; at < data.length; at += piece) checker.update(data.subarray(at, at + piece));
      expect(checker.digest()).toBe(contentCheck(data));
    }
    expect(new ContentChecker().digest()).toBe(contentCheck(new Uint8Array(0)));
  });
});

describe("insideWorkspace", () => {
  const fixture = join(import.meta.dir, "..", "..", "fixtures", "path-ws");
  test("the workspace root and a member's dir are; a dir with no lock file above is not", () => {
    expect(insideWorkspace(fixture)).toBe(true);
    expect(insideWorkspace(join(fixture, "app", "src"))).toBe(true);
    expect(insideWorkspace("/proc/self")).toBe(false);
  });
});
