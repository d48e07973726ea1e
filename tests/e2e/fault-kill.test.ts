// SIGKILLed wrappers (SPEC §4): a killed store never leaves a half entry a later hit serves.
// (Killed lock holders: fault-locks.test.ts.)
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashFile } from "../../src/util/hash";
import {
  blobPath,
  childrenOf,
  cmdline,
  corruptBlobs,
  crateCall,
  descendants,
  indexEntries,
  killWrapper,
  plainAppOutput,
  recordRustcCalls,
  spawnWrapper,
  withOutDir,
} from "./fault-support";
import {
  type CargoResult,
  cargo,
  cargoEnv,
  copyFixture,
  hashTree,
  KACHE_BIN,
  makeTempDir,
  newCacheDir,
  readEvents,
  removeTempDirs,
  runBinary,
} from "./harness";

// A SIGKILLed wrapper cannot remove its scratch dir: this file's wrappers get a TMPDIR of its own.
const ownTmp = mkdtempSync(join(tmpdir(), "kache-e2e-fault-kill-"));
process.env.TMPDIR = ownTmp;
afterAll(() => {
  removeTempDirs();
  rmSync(ownTmp, { recursive: true, force: true });
});

const TIMEOUT = 300_000;

/**
 * Watches this test's kache processes and SIGKILLs each `delayMs` after its compiler child (the rustc
 * call with `--out-dir`; the pre-pass has none) exited, i.e. while it stores. Resolves to the kill count.
 */
async function killWhileStoring(running: () => boolean, delayMs: number): Promise<number> {
  const compiling = new Set<number>();
  const killed = new Set<number>();
  while (running()) {
    for (const pid of descendants(process.pid)) {
      if (killed.has(pid) || cmdline(pid)[0] !== KACHE_BIN) continue;
      if (childrenOf(pid).some((child) => cmdline(child).includes("--out-dir"))) compiling.add(pid);
      else if (compiling.has(pid)) {
        killed.add(pid);
        setTimeout(() => killWrapper(pid), delayMs);
      }
    }
    await Bun.sleep(1);
  }
  return killed.size;
}

/**
 * SIGKILLs `pid` as soon as an input list (manifest) is in its index: past the commit point of a
 * compile-first miss, since the list is recorded only after its entry. The index is read only once
 * the compile ended (it was opened and set up before the compile), so no reader meets its creation.
 */
async function killOnceRecorded(pid: number, cacheDir: string, running: () => boolean): Promise<void> {
  for (let compiled = false; running(); await Bun.sleep(1)) {
    const compiling = childrenOf(pid).some((child) => cmdline(child).includes("--out-dir"));
    if (compiling) compiled = true;
    else if (compiled) break;
  }
  if (!running()) return;
  const index = new Database(join(cacheDir, "index.db"), { readonly: true });
  try {
    for (; running(); await Bun.sleep(0)) {
      if (index.query("SELECT 1 FROM manifests LIMIT 1").get()) return killWrapper(pid);
    }
  } finally {
    index.close();
  }
}

/** Every indexed entry has all its blobs, whole; every named blob hashes to its name. */
function expectOnlyWholeEntries(cacheDir: string): void {
  expect(corruptBlobs(cacheDir)).toEqual([]);
  if (!existsSync(join(cacheDir, "index.db"))) return;
  let entries: ReturnType<typeof indexEntries> = [];
  try {
    entries = indexEntries(cacheDir);
  } catch (error) {
    if (!/no such table/.test(String(error))) throw error; // killed before the schema existed
  }
  for (const entry of entries)
    for (const file of entry.files)
      expect(statSync(blobPath(cacheDir, file), { throwIfNoEntry: false })?.size).toBe(file.size);
}

test(
  "a wrapper SIGKILLed at any point of a miss leaves nothing that a later call serves wrongly",
  async () => {
    const workspace = copyFixture("path-ws");
    const calls = await recordRustcCalls(workspace);
    // Outcome of the call after each kill that landed (the victim died of SIGKILL), by outcome.
    const rerunOutcomes: Record<string, number> = {};
    const landedByPlan: Record<string, { landed: number; of: number }> = {};
    for (const crate of ["fixture_macros", "fixture_core", "fixture_app"]) {
      const call = crateCall(calls, crate);
      const outDir = join(makeTempDir("kache-e2e-out-"), "debug", "deps");
      const start = (cacheDir: string) => {
        rmSync(outDir, { recursive: true, force: true });
        mkdirSync(outDir, { recursive: true });
        return spawnWrapper(call, withOutDir(call, outDir), cacheDir, { ownGroup: true });
      };
      const began = performance.now();
      const baseline = start(newCacheDir());
      expect(await baseline.exited, await new Response(baseline.stderr).text()).toBe(0);
      const duration = performance.now() - began;
      const reference = hashTree(outDir);

      // Kills timed from the start across the whole call, then at fixed delays after the compile ended,
      // then right after the commit point (an entry and its input list recorded).
      const plans = [
        ...[0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1].map((f) => ({ atMs: f * duration })),
        ...[0, 1, 2, 4, 8, 15, 30].map((ms) => ({ afterCompileMs: ms })),
        ...[1, 2, 3].map(() => ({ afterRecorded: true })),
      ];
      for (const plan of plans) {
        const cacheDir = newCacheDir();
        const victim = start(cacheDir);
        let running = true;
        const watcher =
          "atMs" in plan
            ? setTimeout(() => killWrapper(victim.pid), plan.atMs)
            : "afterCompileMs" in plan
              ? killWhileStoring(() => running, plan.afterCompileMs)
              : killOnceRecorded(victim.pid, cacheDir, () => running);
        await victim.exited;
        running = false;
        if (watcher instanceof Promise) await watcher;
        else clearTimeout(watcher);
        // A kill scheduled after the victim finished (or never scheduled) is no kill: the test's own
        // child says whether it died of SIGKILL.
        const landed = victim.signalCode === "SIGKILL";
        const kind = Object.keys(plan)[0]!;
        landedByPlan[kind] ??= { landed: 0, of: 0 };
        landedByPlan[kind].of++;
        if (landed) landedByPlan[kind].landed++;
        try {
          process.kill(-victim.pid, "SIGKILL"); // its process group: a rustc or linker left behind
        } catch {
          // none left
        }
        expectOnlyWholeEntries(cacheDir);

        const rerun = start(cacheDir);
        const stderr = await new Response(rerun.stderr).text();
        expect(await rerun.exited, `${crate} ${JSON.stringify(plan)}: ${stderr}`).toBe(0);
        expect(hashTree(outDir), `${crate} after kill ${JSON.stringify(plan)}`).toEqual(reference);
        const outcome = readEvents(cacheDir).find((event) => event.pid === rerun.pid)?.outcome ?? "none";
        if (landed) rerunOutcomes[outcome] = (rerunOutcomes[outcome] ?? 0) + 1;
        expectOnlyWholeEntries(cacheDir);
      }
    }
    console.log(`kills that landed, by plan: ${JSON.stringify(landedByPlan)}`);
    console.log(`outcome of the call after each landed kill: ${JSON.stringify(rerunOutcomes)}`);
    // The kills landed both before the entry was committed (a miss follows) and after it (a hit follows).
    expect(rerunOutcomes.miss ?? 0).toBeGreaterThan(0);
    expect(rerunOutcomes["local hit"] ?? 0).toBeGreaterThan(0);
  },
  TIMEOUT,
);

/**
 * Crates whose wrapper cargo itself reports as killed by SIGKILL: cargo's witness that a kill landed on a
 * live kache (a kill scheduled after the wrapper exited leaves no such line).
 */
function killedWrappers(stderr: string): string[] {
  const commands = [...stderr.matchAll(/process didn't exit successfully: `([^`]*)` \(signal: 9, SIGKILL/g)];
  return commands
    .map((match) => match[1]!.split(" "))
    .filter((args) => args[0] === KACHE_BIN)
    .map((args) => args[args.indexOf("--crate-name") + 1]!);
}

/** Stores in place: these kills land on a wrapper while it stores (background-store.test.ts kills stores). */
async function cleanBuild(workspace: string, cacheDir: string): Promise<CargoResult> {
  rmSync(join(workspace, "target"), { recursive: true, force: true });
  return cargo(["build", "--locked"], { cwd: workspace, cacheDir, env: { KACHE_BACKGROUND_STORE: "never" } });
}

test(
  "cargo builds whose wrappers are SIGKILLed while storing leave a cache whose hits restore whole files",
  async () => {
    const workspace = copyFixture("path-ws");
    const cacheDir = newCacheDir();
    let kills = 0;
    let landed = 0;
    for (const delayMs of [0, 1, 3, 6, 12, 25]) {
      let running = true;
      const watcher = killWhileStoring(() => running, delayMs);
      let result: CargoResult;
      try {
        result = await cleanBuild(workspace, cacheDir); // fails when a wrapper was killed: that is the point
      } finally {
        running = false; // never leave a killer loose on later tests' wrappers
      }
      const scheduled = await watcher;
      const killed = killedWrappers(result.stderr);
      console.log(`kill ${delayMs} ms after the compile: ${scheduled} scheduled, landed on [${killed}]`);
      kills += scheduled;
      landed += killed.length;
      expect(killed.length).toBeLessThanOrEqual(scheduled);
      // A build fails because a kill landed, and for no other reason.
      expect(result.code !== 0, result.stderr).toBe(killed.length > 0);
      expectOnlyWholeEntries(cacheDir);
    }
    expect(kills).toBeGreaterThan(0);
    expect(landed).toBeGreaterThan(0);

    const eventsBefore = readEvents(cacheDir).length;
    const final = await cleanBuild(workspace, cacheDir);
    expect(final.code, final.stderr).toBe(0);
    expect(runBinary(join(workspace, "target", "debug", "fixture_app"))).toBe(await plainAppOutput());
    const hits = readEvents(cacheDir)
      .slice(eventsBefore)
      .filter((event) => event.outcome === "local hit");
    expect(hits.length).toBe(final.outcomes["local hit"]);
    const entries = indexEntries(cacheDir);
    for (const hit of hits) {
      // Some stored entry of that crate must match, file for file, what the hit put into the out-dir.
      const restoredWhole = entries.some(
        (entry) =>
          entry.crate === hit.crate &&
          entry.files.length > 0 &&
          entry.files.every((file) => {
            const path = join(String(hit.out_dir), file.name);
            return existsSync(path) && (file.depInfo || hashFile(path) === file.blob);
          }),
      );
      expect(restoredWhole, `${hit.crate} restored into ${hit.out_dir}`).toBe(true);
    }
  },
  TIMEOUT,
);

test(
  "Ctrl-C in the middle of a build (SIGINT to every process of it) leaves no scratch dir behind",
  async () => {
    const workspace = copyFixture("native-ws");
    const tmp = makeTempDir("kache-e2e-interrupted-tmp-");
    const scratch = () => readdirSync(tmp).filter((name) => name.startsWith("kache-"));
    // setsid: the build is a process group of its own, as a terminal's foreground job is.
    const build = Bun.spawn(["setsid", "cargo", "build", "--locked"], {
      cwd: workspace,
      env: cargoEnv({ cwd: workspace, cacheDir: newCacheDir(), env: { TMPDIR: tmp } }),
      stdout: "ignore",
      stderr: "ignore",
    });
    const deadline = Date.now() + 120_000;
    while (scratch().length === 0 && Date.now() < deadline && build.exitCode === null) await Bun.sleep(5);
    expect(scratch().length).toBeGreaterThan(0); // a link call was under way
    process.kill(-build.pid, "SIGINT");
    await build.exited;
    // A wrapper cargo started just as the signal went out never got it: it finishes its call (an
    // orphan now, no longer this process's descendant) and removes its dir as every call does.
    const settled = Date.now() + 20_000;
    while (scratch().length > 0 && Date.now() < settled) await Bun.sleep(20);
    expect(scratch()).toEqual([]);
  },
  TIMEOUT,
);
