// Stores that finish after the wrapper exits (KACHE_BACKGROUND_STORE): the next build waits for an
// entry still on its way instead of compiling it again, a store killed half-way leaves nothing a hit
// could serve, and an output rewritten in place before its store reads it is never stored.
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { STORE_JOB_COMMAND } from "../../src/command-names";
import { acquireKeyLockSync } from "../../src/store/key-lock";
import { newStagingDir, STORE_JOB_FORMAT, writeJob } from "../../src/wrapper/store-job";
import { corruptBlobs, indexEntries, plainAppOutput } from "./fault-support";
import {
  type CargoResult,
  cargo,
  copyFixture,
  KACHE_BIN,
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
const UTIL_RS = "core/src/util.rs";
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
 * finished (or recorded its entry) before it was seen.
 */
async function buildWithStoresHeld(
  env: Record<string, string> = {},
  { settled = false } = {},
): Promise<{ workspace: string; cacheDir: string; held: Set<number> }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const workspace = copyFixture("path-ws");
    const cacheDir = newCacheDir();
    // The file-hash memo keeps only files unchanged for a second (SETTLE_NS): a fresh copy has none.
    if (settled) await Bun.sleep(1100);
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
    const cold = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env, waitForStores: false });
    building = false;
    await catcher;
    expect(cold.code, cold.stderr).toBe(0);
    const pending = existsSync(join(cacheDir, "pending")) ? readdirSync(join(cacheDir, "pending")).length : 0;
    // A store stopped between recording its entry and clearing its marker was caught too late.
    const caughtInTime = indexEntries(cacheDir).length === 0;
    if (held.size === PATH_WS_UNITS.length && pending === held.size && caughtInTime)
      return { workspace, cacheDir, held };
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
  "in CI (auto), with never, and outside CI (auto) for small outputs without incremental, the store is done when the wrapper exits",
  async () => {
    for (const env of [
      { KACHE_BACKGROUND_STORE: "auto", CI: "true" },
      { KACHE_BACKGROUND_STORE: "never" },
      { KACHE_BACKGROUND_STORE: "auto", CI: "false", CARGO_INCREMENTAL: "0" },
    ]) {
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

/** The file-hash memo's rows for the workspace's own sources. */
function memoisedSources(cacheDir: string, workspace: string): string[] {
  const db = new Database(join(cacheDir, "index.db"), { readonly: true });
  try {
    const rows = db.query("SELECT path FROM file_hashes WHERE path LIKE ?").all(`${workspace}/%.rs`);
    return (rows as { path: string }[]).map((row) => row.path.slice(workspace.length + 1)).sort();
  } finally {
    db.close();
  }
}

test(
  "auto, outside CI: an incremental call's store runs in the background, and writes the call's memo rows for it",
  async () => {
    // Every unit of path-ws is a workspace member or path dependency, compiled incrementally in dev.
    const auto = { KACHE_BACKGROUND_STORE: "auto", CI: "false" };
    const { workspace, cacheDir, held } = await buildWithStoresHeld(auto, { settled: true });
    expect(held.size).toBe(PATH_WS_UNITS.length);
    // The wrappers have exited and wrote no hash of their own: their stores write them.
    expect(memoisedSources(cacheDir, workspace)).toEqual([]);
    signal(held, "SIGCONT");
    await waitForStores(cacheDir);
    expect(memoisedSources(cacheDir, workspace)).toEqual(
      expect.arrayContaining(["core/src/lib.rs", UTIL_RS]),
    );
    removeTarget(workspace);
    const warm = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env: auto });
    expect(summarise(warm.events)).toEqual(allHits);
  },
  TIMEOUT,
);

/** The nice value of a live process (field 19 of /proc/PID/stat), or null once it has gone. */
function niceOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  } catch {
    return null;
  }
}

test(
  "a background store runs at the lowest CPU priority, so it never slows the compiles cargo runs meanwhile",
  async () => {
    const cacheDir = newCacheDir();
    const lockName = "held-by-the-test";
    const stagingDir = newStagingDir(cacheDir);
    writeJob({
      format: STORE_JOB_FORMAT,
      cacheDir,
      configDir: cacheDir,
      lockName,
      stagingDir,
      key: "0".repeat(64),
      entry: {
        crate: "nothing",
        crateTypes: ["lib"],
        target: "x86_64-unknown-linux-gnu",
        profile: "dev",
        features: [],
        stdout: "",
        stderr: "",
        compileMs: 1,
        components: {} as never,
      },
      files: [],
      roots: [],
      manifest: null,
      fingerprint: null,
      upload: null,
      memoRows: [],
    });
    // Holding the job's store lock parks it right after start-up, where its priority can be read.
    const lock = acquireKeyLockSync(cacheDir, `store-${lockName}`, 1000);
    const job = Bun.spawn([KACHE_BIN, STORE_JOB_COMMAND, stagingDir], {
      stdio: ["ignore", "ignore", "ignore"],
    });
    try {
      let nice = niceOf(job.pid);
      for (let tries = 0; nice !== 19 && tries < 200; tries++) {
        await Bun.sleep(10);
        nice = niceOf(job.pid);
      }
      expect(nice).toBe(19);
    } finally {
      lock.release();
    }
    expect(await job.exited).toBe(0);
    expect(existsSync(stagingDir)).toBe(false);
  },
  TIMEOUT,
);
