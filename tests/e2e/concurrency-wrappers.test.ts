// 220 wrapper processes at once on one cache (SPEC §2 events, §4 "300+ concurrent wrapper processes"):
// a real rustc call (fixture_noisy, recorded from cargo) replayed into 220 out-dirs at the same time.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  brokenEventLines,
  corruptBlobs,
  crateCall,
  indexEntries,
  kacheLogLines,
  type RustcCall,
  recordRustcCalls,
  spawnWrapper,
  withOutDir,
} from "./fault-support";
import { copyFixture, hashTree, makeTempDir, newCacheDir, readEvents, removeTempDirs } from "./harness";

afterAll(removeTempDirs);

const WRAPPERS = 220;
const TIMEOUT = 240_000;
/** Wall-clock bound for one batch on a 2-core machine (about 10s is typical). */
const BATCH_LIMIT_MS = 120_000;

let call: RustcCall;
let workspace: string;

beforeAll(async () => {
  workspace = copyFixture("path-ws");
  call = crateCall(await recordRustcCalls(workspace), "fixture_noisy");
}, TIMEOUT);

interface Run {
  pid: number;
  code: number;
  stderr: string;
  outDir: string;
}

/**
 * Starts every wrapper, each SIGSTOPped straight after exec (long before it opens the index), then
 * SIGCONTs them all at once so they really meet the cache together; returns each one's result.
 */
async function runBatch(cacheDir: string, outDirs: string[]): Promise<Run[]> {
  const started = performance.now();
  const procs = outDirs.map((outDir) => {
    mkdirSync(outDir, { recursive: true });
    const proc = spawnWrapper(call, withOutDir(call, outDir), cacheDir);
    process.kill(proc.pid, "SIGSTOP");
    return { outDir, proc };
  });
  for (const { proc } of procs) process.kill(proc.pid, "SIGCONT");
  const runs = await Promise.all(
    procs.map(async ({ outDir, proc }) => {
      const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      return { pid: proc.pid, code, stderr, outDir };
    }),
  );
  const elapsed = performance.now() - started;
  console.log(`${outDirs.length} wrappers finished in ${(elapsed / 1000).toFixed(1)}s`);
  expect(elapsed).toBeLessThan(BATCH_LIMIT_MS);
  return runs;
}

const STEM = () => `fixture_noisy${call.args.find((a) => a.startsWith("extra-filename="))!.slice(15)}`;

/** Out-dir contents with the out-dir's own path (in dep-info) made neutral, so all runs compare equal. */
function outputsOf(outDir: string): Record<string, string> {
  const tree = hashTree(outDir);
  const depInfo = `${STEM()}.d`;
  tree[depInfo] = readFileSync(join(outDir, depInfo), "utf8").replaceAll(outDir, "<OUT>");
  return tree;
}

function expectSoundRuns(runs: Run[], cacheDir: string, expectedWarning = /^$/): void {
  for (const run of runs) {
    expect(run.code, run.stderr).toBe(0);
    expect(kacheLogLines(run.stderr).filter((line) => !expectedWarning.test(line))).toEqual([]);
    // The one warning of fixture_noisy, compiled or replayed, as rustc's JSON diagnostic.
    expect(run.stderr).toContain("unused_on_purpose");
  }
  const reference = outputsOf(runs[0]!.outDir);
  expect(Object.keys(reference).sort()).toEqual([`${STEM()}.d`, `lib${STEM()}.rlib`, `lib${STEM()}.rmeta`]);
  for (const run of runs) expect(outputsOf(run.outDir), run.outDir).toEqual(reference);

  expect(brokenEventLines(cacheDir)).toEqual([]);
  const events = readEvents(cacheDir).filter((event) => event.crate === "fixture_noisy");
  expect(events.length).toBe(runs.length);
  expect(new Set(events.map((event) => event.pid))).toEqual(new Set(runs.map((run) => run.pid)));
  const db = new Database(join(cacheDir, "index.db"), { readonly: true });
  try {
    expect(db.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
  } finally {
    db.close();
  }
  expect(corruptBlobs(cacheDir)).toEqual([]);
}

function countOutcomes(cacheDir: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of readEvents(cacheDir))
    counts[String(event.outcome)] = (counts[String(event.outcome)] ?? 0) + 1;
  return counts;
}

test(
  `${WRAPPERS} wrappers with one key (out-dirs <t_i>/debug/deps) on a fresh cache: one compiles, the rest restore`,
  async () => {
    const base = makeTempDir("kache-e2e-outs-");
    const cacheDir = newCacheDir();
    const runs = await runBatch(
      cacheDir,
      Array.from({ length: WRAPPERS }, (_, i) => join(base, `t${i}`, "debug", "deps")),
    );
    expectSoundRuns(runs, cacheDir);
    // The out-dir is normalised against each target dir, so all share one key and one entry.
    expect(new Set(readEvents(cacheDir).map((event) => event.key)).size).toBe(1);
    expect(countOutcomes(cacheDir)).toEqual({ miss: 1, "local hit": WRAPPERS - 1 });
    expect(indexEntries(cacheDir).filter((entry) => entry.crate === "fixture_noisy").length).toBe(1);
  },
  TIMEOUT,
);

test(
  `${WRAPPERS} wrappers with distinct keys (out-dirs outside any target layout): ${WRAPPERS} entries`,
  async () => {
    const base = makeTempDir("kache-e2e-outs-");
    const cacheDir = newCacheDir();
    const runs = await runBatch(
      cacheDir,
      Array.from({ length: WRAPPERS }, (_, i) => join(base, `out-${i}`)),
    );
    expectSoundRuns(runs, cacheDir);
    expect(new Set(readEvents(cacheDir).map((event) => event.key)).size).toBe(WRAPPERS);
    expect(countOutcomes(cacheDir)).toEqual({ miss: WRAPPERS });
    expect(indexEntries(cacheDir).filter((entry) => entry.crate === "fixture_noisy").length).toBe(WRAPPERS);
  },
  TIMEOUT,
);

test(
  `${WRAPPERS} wrappers meeting a corrupt index at once: it is moved aside once and the new one is sound`,
  async () => {
    const base = makeTempDir("kache-e2e-outs-");
    const cacheDir = newCacheDir();
    writeFileSync(join(cacheDir, "index.db"), Buffer.alloc(64 * 1024, 0x5a));
    const runs = await runBatch(
      cacheDir,
      Array.from({ length: WRAPPERS }, (_, i) => join(base, `t${i}`, "debug", "deps")),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const warned = runs.filter((run) => /kache warn: index .* was corrupt/.test(run.stderr));
    // The -wal and -shm files go aside with it, under its name plus their suffix.
    const aside = readdirSync(cacheDir).filter((name) => /^index\.db\.corrupt-\d+-\d+$/.test(name));
    console.log(`${warned.length} wrappers reported the corrupt index; ${aside.length} moved aside`);
    // A second quarantine would move a fresh index (and its WAL) away under the feet of the others.
    expect(aside.length).toBe(1);
    expect(warned.length).toBe(1);
    expectSoundRuns(runs, cacheDir, /^kache warn: index .* was corrupt/);
    expect(countOutcomes(cacheDir)).toEqual({ miss: 1, "local hit": WRAPPERS - 1 });
  },
  TIMEOUT,
);
