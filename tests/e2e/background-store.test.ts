// Stores that finish after the wrapper exits (KACHE_BACKGROUND_STORE): the next build waits for an
// entry still on its way instead of compiling it again, a store killed half-way leaves nothing a hit
// could serve, and an output rewritten in place before its store reads it is never stored.
import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { corruptBlobs, indexEntries, plainAppOutput } from "./fault-support";
import {
  type CargoResult,
  cargo,
  copyFixture,
  newCacheDir,
  PATH_WS_UNITS,
  removeTarget,
  removeTempDirs,
  runBinary,
  storeJobPids,
  summarise,
  waitForStores,
} from "./harness";

afterAll(removeTempDirs);

const TIMEOUT = 240_000;
const allHits = PATH_WS_UNITS.map((crate) => `${crate}: local hit`);

function signal(pids: Iterable<number>, name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  }
}

/**
 * A cold build whose background stores are all stopped (SIGSTOP) the moment they appear, so they
 * are still pending when it returns. Retried with a fresh cache on the rare run where a store
 * finished before it was seen.
 */
async function buildWithStoresHeld(): Promise<{ workspace: string; cacheDir: string; held: Set<number> }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const workspace = copyFixture("path-ws");
    const cacheDir = newCacheDir();
    const held = new Set<number>();
    let building = true;
    const catcher = (async () => {
      while (building) {
        for (const pid of storeJobPids(cacheDir)) {
          if (held.has(pid)) continue;
          signal([pid], "SIGSTOP");
          held.add(pid);
        }
        await Bun.sleep(0);
      }
    })();
    const cold = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, waitForStores: false });
    building = false;
    await catcher;
    expect(cold.code, cold.stderr).toBe(0);
    const pending = existsSync(join(cacheDir, "pending")) ? readdirSync(join(cacheDir, "pending")).length : 0;
    if (held.size === PATH_WS_UNITS.length && pending === held.size) return { workspace, cacheDir, held };
    signal(held, "SIGCONT");
    await waitForStores(cacheDir);
  }
  throw new Error("could not catch every background store of a build in five tries");
}

test(
  "a build while the last build's stores are still pending waits for them and hits every unit",
  async () => {
    const { workspace, cacheDir, held } = await buildWithStoresHeld();
    removeTarget(workspace);
    const next = cargo(["build", "--locked"], { cwd: workspace, cacheDir, waitForStores: false });
    await Bun.sleep(1000); // its wrappers are waiting for the stopped stores
    signal(held, "SIGCONT");
    const result = await next;
    expect(result.code, result.stderr).toBe(0);
    expect(summarise(result.events)).toEqual(allHits);
    expect(runBinary(join(workspace, "target", "debug", "fixture_app"))).toBe(await plainAppOutput());
  },
  TIMEOUT,
);

test(
  "stores killed half-way leave no entry a hit could serve; the next build compiles and the cache heals",
  async () => {
    const { workspace, cacheDir, held } = await buildWithStoresHeld();
    signal(held, "SIGKILL");
    removeTarget(workspace);
    const next: CargoResult = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
    expect(next.code, next.stderr).toBe(0);
    expect(summarise(next.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
    expect(runBinary(join(workspace, "target", "debug", "fixture_app"))).toBe(await plainAppOutput());
    expect(corruptBlobs(cacheDir)).toEqual([]);
    removeTarget(workspace);
    const healed = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
    expect(summarise(healed.events)).toEqual(allHits);
    expect(storeJobPids(cacheDir)).toEqual([]);
    expect(indexEntries(cacheDir).every((entry) => entry.files.length > 0)).toBe(true);
  },
  TIMEOUT,
);

test(
  "an output rewritten in place before its background store reads it is not stored",
  async () => {
    const { workspace, cacheDir, held } = await buildWithStoresHeld();
    const app = join(workspace, "target", "debug", "fixture_app");
    const unstripped = statSync(app).size;
    expect(Bun.spawnSync(["strip", app]).exitCode).toBe(0); // the tree's file: the same inode as the staged one
    signal(held, "SIGCONT");
    await waitForStores(cacheDir);
    expect(readFileSync(join(cacheDir, "store.log"), "utf8")).toContain("fixture_app: not cached");
    removeTarget(workspace);
    const next = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
    expect(next.code, next.stderr).toBe(0);
    expect(summarise(next.events)).toEqual(
      allHits.map((line) => (line.startsWith("fixture_app:") ? "fixture_app: miss" : line)),
    );
    expect(statSync(app).size).toBe(unstripped);
  },
  TIMEOUT,
);

test(
  "in CI (auto), and with never, the store is done when the wrapper exits",
  async () => {
    for (const env of [{ KACHE_BACKGROUND_STORE: "auto", CI: "true" }, { KACHE_BACKGROUND_STORE: "never" }]) {
      const workspace = copyFixture("path-ws");
      const cacheDir = newCacheDir();
      const cold = await cargo(["build", "--locked"], {
        cwd: workspace,
        cacheDir,
        env,
        waitForStores: false,
      });
      expect(cold.code, cold.stderr).toBe(0);
      expect(existsSync(join(cacheDir, "staging")) ? readdirSync(join(cacheDir, "staging")) : []).toEqual([]);
      expect(new Set(indexEntries(cacheDir).map((entry) => entry.crate))).toEqual(new Set(PATH_WS_UNITS));
    }
  },
  TIMEOUT,
);
