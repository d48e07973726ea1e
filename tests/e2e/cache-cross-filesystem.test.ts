// A cache on another filesystem than the target dir (e.g. ~/.cache on disk, the project on tmpfs):
// hardlinks fail with EXDEV, so outputs are copied in and out, and every hit must still work.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { corruptBlobs } from "./fault-support";
import { cargo, copyFixture, removeTarget, removeTempDirs, runBinary } from "./harness";

const cacheDir = mkdtempSync("/dev/shm/kache-e2e-cache-");

afterAll(() => {
  removeTempDirs();
  rmSync(cacheDir, { recursive: true, force: true });
});

test("a cache on another filesystem still hits every unit, and the next build is a no-op", async () => {
  const workspace = copyFixture("path-ws");
  expect(statSync(cacheDir).dev, "needs /dev/shm on a filesystem of its own").not.toBe(
    statSync(workspace).dev,
  );
  const cold = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
  expect(cold.code, cold.stderr).toBe(0);
  expect(cold.events.every((e) => e.outcome === "miss")).toBe(true);
  const expected = runBinary(join(workspace, "target/debug/fixture_app"));

  removeTarget(workspace);
  const warm = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
  expect(warm.code, warm.stderr).toBe(0);
  expect(warm.stderr).not.toContain("kache warn");
  expect(warm.events.map((e) => e.outcome)).toEqual(Array(5).fill("local hit"));
  expect(runBinary(join(workspace, "target/debug/fixture_app"))).toBe(expected);

  const again = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
  expect(again.events).toEqual([]);
  expect(again.compiled).toEqual([]);
  expect(corruptBlobs(cacheDir)).toEqual([]);
});
