// Warm rebuilds of bench/cc-workload (ring's build script compiles bundled C and assembly with the cc
// crate): no cache, kache for Rust only, kache with its C shims, sccache with CC="sccache cc".
// `bun bench/cc.ts [--runs N]` alone, or after the rounds of `npm run bench`.

import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { kacheMode, type Mode, noCacheMode, sccacheMode, takeSccacheStats } from "./modes";
import { settle } from "./settle";
import { ensurePackages, snapshotKache } from "./setup";
import { formatRatio, formatSeconds, median, ratio } from "./stats";

export type CcModeName = "none" | "kache-rust" | "kache-cc" | "sccache";

const CC_MODE_NAMES: CcModeName[] = ["none", "kache-rust", "kache-cc", "sccache"];

const LABELS: Record<CcModeName, string> = {
  none: "no cache",
  "kache-rust": "kache, Rust only (no C shims)",
  "kache-cc": "kache with C shims (CC_<host>)",
  sccache: 'sccache (RUSTC_WRAPPER=sccache, CC="sccache cc")',
};

/** The package whose build script compiles the C. */
const C_PACKAGE = "ring";

interface CcMode {
  name: CcModeName;
  mode: Mode;
  /** kache's cache dir, whose events say how long the C compiles took; null for the others. */
  kacheCache: string | null;
}

export interface CcRun {
  seconds: number;
  /** Wall time of ring's build-script run (cargo's invoked.timestamp to its root-output). */
  buildScriptSeconds: number;
  /** From kache's events: the C/C++ compiles' summed elapsed time, and their outcomes. */
  cEventMs: number | null;
  cOutcomes: Record<string, number>;
  /** Pass-through reasons of the C/C++ calls, with counts. */
  cReasons: Record<string, number>;
}

export interface CcResults {
  runs: number;
  /** Compiler calls ring's build script makes (kache's events of the cold build with shims). */
  compilerCalls: number;
  perMode: Record<CcModeName, CcRun[]>;
  cold: Record<CcModeName, CcRun>;
}

/** Without every variable that names a C compiler or its flags: each mode sets its own. */
function withoutCompilerVariables(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(([name]) => !/^(CC|CXX|HOST_CC|TARGET_CC|CFLAGS|CXXFLAGS)(_|$)/.test(name)),
  );
}

function hostTriple(): string {
  const output = Bun.spawnSync(["rustc", "-vV"], { stdout: "pipe" }).stdout.toString();
  const match = /^host: (\S+)$/m.exec(output);
  if (!match) throw new Error(`no host line in rustc -vV: ${output}`);
  return match[1]!;
}

function installShims(kache: string, dir: string): void {
  const result = Bun.spawnSync([kache, "install-shims", dir], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) {
    throw new Error(`kache install-shims exited with ${result.exitCode}: ${result.stderr.toString()}`);
  }
}

function copyCcWorkload(repository: string, destination: string): string {
  const source = join(repository, "bench", "cc-workload");
  mkdirSync(destination, { recursive: true });
  cpSync(source, destination, {
    recursive: true,
    filter: (path) => !path.startsWith(join(source, "target")),
  });
  return destination;
}

function ccModes(repository: string, workDirectory: string, kache: string): CcMode[] {
  const copy = (name: string) => copyCcWorkload(repository, join(workDirectory, "cc", name));
  const triple = hostTriple();
  const shims = join(workDirectory, "cc", "shims");
  installShims(kache, shims);
  const modes: CcMode[] = [];
  const none = noCacheMode(copy("none"));
  modes.push({ name: "none", mode: { ...none, env: withoutCompilerVariables(none.env) }, kacheCache: null });
  for (const name of ["kache-rust", "kache-cc"] as const) {
    const cacheDir = join(workDirectory, "cc", `${name}-cache`);
    mkdirSync(cacheDir, { recursive: true });
    const mode = kacheMode(copy(name), cacheDir, kache);
    mode.env = withoutCompilerVariables(mode.env);
    if (name === "kache-cc") {
      for (const spelling of [triple, triple.replaceAll("-", "_")]) {
        mode.env[`CC_${spelling}`] = join(shims, "cc");
        mode.env[`CXX_${spelling}`] = join(shims, "c++");
      }
    }
    modes.push({ name, mode, kacheCache: cacheDir });
  }
  const sccache = sccacheMode(copy("sccache"), join(workDirectory, "cc", "sccache-cache"));
  // sccache's documented wiring for C: CC="sccache cc" (cc-rs splits it for sccache only).
  sccache.env = { ...withoutCompilerVariables(sccache.env), CC: "sccache cc", CXX: "sccache c++" };
  modes.push({ name: "sccache", mode: sccache, kacheCache: null });
  return modes;
}

/** The run dir of ring's build script: the one cargo writes root-output into. */
function buildScriptSeconds(workspace: string): number {
  const build = join(workspace, "target", "debug", "build");
  for (const name of readdirSync(build).filter((entry) => entry.startsWith(`${C_PACKAGE}-`))) {
    const dir = join(build, name);
    try {
      const started = statSync(join(dir, "invoked.timestamp")).mtimeMs;
      return (statSync(join(dir, "root-output")).mtimeMs - started) / 1000;
    } catch {
      // the dir of the compiled build script, not of its run
    }
  }
  return Number.NaN;
}

interface CEvent {
  language?: string;
  outcome: string;
  reason: string | null;
  elapsed_ms: number;
}

function eventLines(cacheDir: string): string[] {
  try {
    return readFileSync(join(cacheDir, "events.jsonl"), "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

async function timedRebuild(ccMode: CcMode): Promise<CcRun> {
  const { mode, kacheCache } = ccMode;
  rmSync(join(mode.workspace, "target"), { recursive: true, force: true });
  const eventsBefore = kacheCache ? eventLines(kacheCache).length : 0;
  await settle();
  const started = performance.now();
  const cargo = Bun.spawn(["cargo", "build"], {
    cwd: mode.workspace,
    env: mode.env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [errors, exitCode] = await Promise.all([new Response(cargo.stderr).text(), cargo.exited]);
  const seconds = (performance.now() - started) / 1000;
  if (exitCode !== 0) throw new Error(`cargo build (${ccMode.name}) failed with ${exitCode}:\n${errors}`);
  const run: CcRun = {
    seconds,
    buildScriptSeconds: buildScriptSeconds(mode.workspace),
    cEventMs: null,
    cOutcomes: {},
    cReasons: {},
  };
  if (ccMode.name === "sccache") run.cOutcomes = sccacheCCalls(mode);
  if (!kacheCache) return run;
  const cEvents = eventLines(kacheCache)
    .slice(eventsBefore)
    .map((line) => JSON.parse(line) as CEvent)
    .filter((event) => event.language === "c" || event.language === "c++");
  if (cEvents.length === 0) return run;
  run.cEventMs = cEvents.reduce((sum, event) => sum + event.elapsed_ms, 0);
  const count = (counts: Record<string, number>, name: string) => {
    counts[name] = (counts[name] ?? 0) + 1;
  };
  for (const event of cEvents) {
    count(run.cOutcomes, event.outcome);
    if (event.reason) count(run.cReasons, event.reason);
  }
  return run;
}

/** sccache's C/C++ hits and misses, and the calls it did not cache for their language; zeroes its stats. */
function sccacheCCalls(mode: Mode): Record<string, number> {
  const stats = takeSccacheStats(mode);
  if (!stats) return {};
  try {
    return {
      "C/C++ hit": stats.cache_hits?.counts?.["C/C++"] ?? 0,
      "C/C++ miss": stats.cache_misses?.counts?.["C/C++"] ?? 0,
      "not cached (unknown source language)": stats.not_cached?.["unknown source language"] ?? 0,
    };
  } catch {
    return {};
  }
}

function programOutput(mode: Mode): string {
  const result = Bun.spawnSync([join(mode.workspace, "target", "debug", "bench_cc")], { stdout: "pipe" });
  return result.stdout.toString();
}

function describe(run: CcRun): string {
  const cPart =
    run.cEventMs === null ? "" : `, C ${(run.cEventMs / 1000).toFixed(2)} s ${JSON.stringify(run.cOutcomes)}`;
  return `${formatSeconds(run.seconds)} (build script ${formatSeconds(run.buildScriptSeconds)}${cPart})`;
}

/** One cold build per mode (fresh caches), then `runs` warm rebuilds each, the modes interleaved and rotated. */
export async function runCcBench(repository: string, workDirectory: string, kache: string, runs: number) {
  const modes = ccModes(repository, workDirectory, kache);
  const perMode = Object.fromEntries(
    CC_MODE_NAMES.map((name) => [name, [] as CcRun[]]),
  ) as CcResults["perMode"];
  const cold = {} as CcResults["cold"];
  try {
    let expected: string | null = null;
    for (const ccMode of modes) {
      ccMode.mode.resetCache();
      cold[ccMode.name] = await timedRebuild(ccMode);
      console.log(`  cc ${ccMode.name.padEnd(10)} cold ${describe(cold[ccMode.name])}`);
      const output = programOutput(ccMode.mode);
      expected ??= output;
      if (output !== expected) throw new Error(`${ccMode.name} built a program that prints ${output}`);
    }
    for (let run = 0; run < runs; run++) {
      const order = [...modes.slice(run % modes.length), ...modes.slice(0, run % modes.length)];
      for (const ccMode of order) {
        const result = await timedRebuild(ccMode);
        perMode[ccMode.name].push(result);
        console.log(`  cc ${ccMode.name.padEnd(10)} warm ${describe(result)}`);
      }
    }
  } finally {
    for (const { mode } of modes) mode.stop();
  }
  const compilerCalls = Object.values(cold["kache-cc"].cOutcomes).reduce((sum, count) => sum + count, 0);
  return { runs, compilerCalls, perMode, cold } satisfies CcResults;
}

const medianOf = (runs: CcRun[], pick: (run: CcRun) => number) => median(runs.map(pick));

/** The markdown section for bench/RESULTS.md (also printed by `bun bench/cc.ts`). */
export function ccMarkdown(results: CcResults): string {
  const none = medianOf(results.perMode.none, (run) => run.seconds);
  const rows = CC_MODE_NAMES.map((name) => {
    const runs = results.perMode[name];
    const wall = medianOf(runs, (run) => run.seconds);
    const script = medianOf(runs, (run) => run.buildScriptSeconds);
    const cMs = medianOf(runs, (run) => run.cEventMs ?? Number.NaN);
    const outcomes = runs.at(-1)?.cOutcomes ?? {};
    const listed = Object.entries(outcomes)
      .map(([outcome, count]) => `${count} ${outcome}`)
      .join(", ");
    const cText = `${Number.isNaN(cMs) ? "—" : formatSeconds(cMs / 1000)}${listed ? ` (${listed})` : ""}`;
    return `| ${LABELS[name]} | ${formatSeconds(wall)} | ${formatRatio(ratio(wall, none))} | ${formatSeconds(script)} | ${cText} | ${formatSeconds(results.cold[name].seconds)} |`;
  });
  const shims = results.perMode["kache-cc"];
  const counts = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([name, count]) => `${count} ${name}`)
      .join(", ");
  const coldC = results.cold["kache-cc"].cEventMs ?? Number.NaN;
  const warmC = medianOf(shims, (run) => run.cEventMs ?? Number.NaN);
  return [
    "## Warm rebuild with a bundled-C -sys crate (bench/cc.ts)",
    "",
    `bench/cc-workload: a bin over Debian's ring 0.16.20, whose build script compiles BoringSSL's C and`,
    `assembly with the cc crate (${results.compilerCalls} compiler calls, one after another). Each mode: one cold`,
    `build with a fresh cache, then ${results.runs} warm rebuilds (\`rm -rf target && cargo build\`), modes`,
    "interleaved and rotated. Medians; the ratio is to no cache. The build script's run is cargo's",
    "`invoked.timestamp` to its `root-output`; the C column is kache's events (summed `elapsed_ms` of",
    "the C/C++ calls) where kache sees them; for sccache, its own C/C++ counts.",
    "",
    "| mode | warm rebuild | vs no cache | ring's build script | C calls | cold build |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
    `kache with shims, ring's C/C++ calls as kache timed them: ${formatSeconds(coldC / 1000)} summed in the cold`,
    `build (${counts(results.cold["kache-cc"].cOutcomes)}), ${formatSeconds(warmC / 1000)} in a warm rebuild`,
    `(median; ${counts(shims.at(-1)?.cOutcomes ?? {})}). Pass-through reasons: ${counts(shims.at(-1)?.cReasons ?? {}) || "none"}.`,
    "",
  ].join("\n");
}

function parseRuns(argv: string[]): number {
  const index = argv.indexOf("--runs");
  if (index === -1) return 5;
  const runs = Number(argv[index + 1]);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a whole number ≥ 1");
  return runs;
}

if (import.meta.main) {
  const repository = resolve(import.meta.dir, "..");
  ensurePackages();
  const workDirectory = mkdtempSync(join(tmpdir(), "kache-bench-cc-"));
  try {
    const kache = snapshotKache(repository, workDirectory);
    const results = await runCcBench(repository, workDirectory, kache, parseRuns(process.argv.slice(2)));
    console.log(`\n${ccMarkdown(results)}`);
  } finally {
    rmSync(workDirectory, { recursive: true, force: true });
  }
}
