// Micro-figures: kache start-up, pass-through overhead on `rustc -vV`, and per-hit costs from events.

import { join } from "node:path";
import type { KacheEvent } from "./scenarios";
import { median, percentile } from "./stats";

export interface StartupFigures {
  versionMs: number;
  rustcDirectMs: number;
  rustcThroughKacheMs: number;
  /** Median of the per-pair differences (through kache minus direct): steadier than two medians apart. */
  passthroughOverheadMs: number;
  rustc: string;
}

/** What a miss costs inside kache, step by step (medians over the misses of one kind of build). */
export interface MissFigures {
  misses: number;
  keyMs: number;
  storeMs: number;
  compileMs: number;
  /** Everything in the process that is not the compiler: elapsed minus compile. */
  overheadMs: number;
}

export function missFigures(runs: KacheEvent[][]): MissFigures {
  const misses = runs.flat().filter((event) => event.outcome === "miss");
  return {
    misses: misses.length,
    keyMs: median(misses.map((event) => event.phases.key ?? 0)),
    storeMs: median(misses.map((event) => event.phases.store ?? 0)),
    compileMs: median(misses.map((event) => event.phases.compile ?? 0)),
    overheadMs: median(misses.map((event) => event.elapsed_ms - (event.phases.compile ?? 0))),
  };
}

export interface EventFigures {
  hits: number;
  keyLookupMedianMs: number;
  keyLookupP95Ms: number;
  elapsedMedianMs: number;
  restoreMedianMs: number;
  /** key + lookup + restore (with its content checks) of one hit. */
  perHitMedianMs: number;
  perHitP95Ms: number;
  /** Restore time per MB restored, content checks included: total restore ms over total MB. */
  restoreMsPerMb: number;
  /** Pre-passes per warm rebuild (direct mode on), median over rounds. */
  prepassesPerWarm: number;
  /** Crates that ran a pre-pass in any warm rebuild, with outcome and reason. */
  prepassCrates: string[];
  /** Calls per warm rebuild that were not local hits (misses, pass-throughs), median over rounds. */
  nonHitsPerWarm: number;
  nonHitOutcomes: string[];
  prepassesPerDirectOff: number;
  coldMisses: MissFigures;
  editMisses: MissFigures;
}

const samples = 60;

function timeSpawn(command: string[], env: Record<string, string>): number {
  const started = performance.now();
  const result = Bun.spawnSync(command, { env, stdout: "pipe", stderr: "pipe" });
  const elapsed = performance.now() - started;
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} failed: ${result.stderr.toString()}`);
  return elapsed;
}

/** The toolchain's own rustc (not the rustup proxy), the one the pass-through figure compares with. */
export function toolchainRustc(env: Record<string, string>): string {
  const sysroot = Bun.spawnSync(["rustc", "--print", "sysroot"], { env }).stdout.toString().trim();
  return join(sysroot, "bin", "rustc");
}

/** Medians of `samples` runs each; direct and wrapped rustc calls interleave so drift hits both. */
export function measureStartup(kache: string, env: Record<string, string>): StartupFigures {
  const rustc = toolchainRustc(env);
  for (let warmup = 0; warmup < 3; warmup++) {
    timeSpawn([kache, "--version"], env);
    timeSpawn([kache, rustc, "-vV"], env);
  }
  const version: number[] = [];
  const direct: number[] = [];
  const through: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    version.push(timeSpawn([kache, "--version"], env));
    direct.push(timeSpawn([rustc, "-vV"], env));
    through.push(timeSpawn([kache, rustc, "-vV"], env));
  }
  return {
    versionMs: median(version),
    rustcDirectMs: median(direct),
    rustcThroughKacheMs: median(through),
    passthroughOverheadMs: median(through.map((ms, i) => ms - direct[i]!)),
    rustc,
  };
}

function describe(event: KacheEvent): string {
  return `${event.crate} (${event.outcome}${event.reason ? `: ${event.reason}` : ""})`;
}

export function eventFigures(
  warmRuns: KacheEvent[][],
  directOffRuns: KacheEvent[][],
  coldRuns: KacheEvent[][],
  editRuns: KacheEvent[][],
): EventFigures {
  const hits = warmRuns.flat().filter((event) => event.outcome === "local hit");
  const keyLookup = hits.map((event) => (event.phases.key ?? 0) + (event.phases.lookup ?? 0));
  const perHit = hits.map((event, i) => keyLookup[i]! + (event.phases.restore ?? 0));
  const prepasses = warmRuns.map((run) => run.filter((event) => event.prepass));
  const nonHits = warmRuns.map((run) => run.filter((event) => event.outcome !== "local hit"));
  // `rustc -vV` and `--print` queries carry no crate: they are not compile units.
  const units = (run: KacheEvent[]) => run.filter((event) => event.crate);
  return {
    hits: hits.length,
    keyLookupMedianMs: median(keyLookup),
    keyLookupP95Ms: percentile(keyLookup, 95),
    elapsedMedianMs: median(hits.map((event) => event.elapsed_ms)),
    restoreMedianMs: median(hits.map((event) => event.phases.restore ?? 0)),
    perHitMedianMs: median(perHit),
    perHitP95Ms: percentile(perHit, 95),
    restoreMsPerMb:
      hits.reduce((sum, event) => sum + (event.phases.restore ?? 0), 0) /
      (hits.reduce((sum, event) => sum + event.size, 0) / 1e6),
    prepassesPerWarm: median(prepasses.map((run) => run.length)),
    prepassCrates: [...new Set(prepasses.flat().map(describe))],
    nonHitsPerWarm: median(nonHits.map((run) => units(run).length)),
    nonHitOutcomes: [
      ...new Set(
        nonHits
          .flat()
          .filter((event) => event.crate)
          .map(describe),
      ),
    ],
    prepassesPerDirectOff: median(directOffRuns.map((run) => run.filter((event) => event.prepass).length)),
    coldMisses: missFigures(coldRuns),
    editMisses: missFigures(editRuns),
  };
}
