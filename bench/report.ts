// Turns the measurements into the markdown report: machine, versions, table, micro-figures, targets.

import type { DaemonFallbackFigures, Spread } from "./daemon-fallback";
import { editsPerLoop } from "./edit-loop";
import type { EventFigures, MissFigures, StartupFigures } from "./micro";
import type { ModeName } from "./modes";
import { remoteWarmLines, remoteWarmTargets } from "./remote-report";
import type { RemoteWarmFigures } from "./remote-warm";
import { coldBuildsPerRound, type Measurements, type ScenarioName } from "./scenarios";
import { formatMilliseconds, formatRatio, formatSeconds, median, pairedRatios, ratio } from "./stats";

export interface Context {
  date: string;
  rounds: number;
  machine: string[];
  versions: string[];
  packages: number;
  members: string[];
}

export interface Target {
  name: string;
  pass: boolean;
  measured: string;
}

const scenarioLabels: [ScenarioName, string][] = [
  ["cold", "cold build (empty cache)"],
  ["warm", "warm rebuild after `rm -rf target`"],
  ["noop", "no-op build"],
  ["editBuild", "edit loop: a function added to the big member, `cargo build`"],
  ["editCheck", "edit loop: a function added to the big member, `cargo check`"],
  ["switchFirst", "switch to a branch never built before, `cargo build`"],
  ["switch", "switch between two branches built before, `cargo build`"],
  ["edit", "one leaf crate edited"],
  ["warmDirectOff", "warm rebuild, `KACHE_DIRECT_MODE=0`"],
];

function medians(measurements: Measurements): Record<ModeName, Record<ScenarioName, number>> {
  const result = {} as Record<ModeName, Record<ScenarioName, number>>;
  for (const [mode, scenarios] of Object.entries(measurements.seconds)) {
    result[mode as ModeName] = Object.fromEntries(
      Object.entries(scenarios).map(([scenario, values]) => [scenario, median(values)]),
    ) as Record<ScenarioName, number>;
  }
  return result;
}

export function resultTable(measurements: Measurements): string {
  const value = medians(measurements);
  const lines = [
    "| scenario | no cache | sccache | kache | kache / none | kache / sccache | sccache / none |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [scenario, label] of scenarioLabels) {
    const none = scenario === "warmDirectOff" ? value.none.warm : value.none[scenario];
    const sccache = scenario === "warmDirectOff" ? value.sccache.warm : value.sccache[scenario];
    const kache = value.kache[scenario];
    const cells =
      scenario === "warmDirectOff" ? ["(warm)", "(warm)"] : [formatSeconds(none), formatSeconds(sccache)];
    lines.push(
      `| ${label} | ${cells.join(" | ")} | ${formatSeconds(kache)} | ${formatRatio(ratio(kache, none))} | ` +
        `${formatRatio(ratio(kache, sccache))} | ${scenario === "warmDirectOff" ? "" : formatRatio(ratio(sccache, none))} |`,
    );
  }
  return lines.join("\n");
}

export function targets(
  measurements: Measurements,
  startup: StartupFigures,
  events: EventFigures,
  daemon: DaemonFallbackFigures,
): Target[] {
  const value = medians(measurements);
  const warmVsSccache = ratio(value.kache.warm, value.sccache.warm);
  const warmVsNone = ratio(value.kache.warm, value.none.warm);
  // Cold builds take long enough for the shared machine's speed to drift between them: the verdict
  // takes the ratio within each pair of builds made close in time, then the median of those.
  const coldPairs = pairedRatios(measurements.seconds.kache.cold, measurements.seconds.none.cold);
  const coldRatio = median(coldPairs);
  // The same for the edit loops: each edit is built in every mode back to back.
  const editBuildPairs = pairedRatios(
    measurements.seconds.kache.editBuild,
    measurements.seconds.none.editBuild,
  );
  const editCheckPairs = pairedRatios(
    measurements.seconds.kache.editCheck,
    measurements.seconds.none.editCheck,
  );
  const editBuildRatio = median(editBuildPairs);
  const editCheckRatio = median(editCheckPairs);
  const editMeasured = (pairs: number[], scenario: "editBuild" | "editCheck") =>
    `${formatRatio(median(pairs))} over ${pairs.length} pairs (medians ${formatSeconds(value.kache[scenario])} vs ` +
    `${formatSeconds(value.none[scenario])}, ratio of the medians ${formatRatio(ratio(value.kache[scenario], value.none[scenario]))})`;
  const switchRatio = ratio(value.kache.switch, value.none.switch);
  const noopRatio = ratio(value.kache.noop, value.none.noop);
  const passthrough = startup.passthroughOverheadMs;
  // Best of each: on a shared machine the fastest run is the one least disturbed.
  const remoteRatio = ratio(daemon.warmWithRemote.minMs, daemon.warmWithoutRemote.minMs);
  const prepassWhere = events.prepassCrates.length ? `: ${events.prepassCrates.join(", ")}` : "";
  return [
    {
      name: "warm rebuild ≤ 0.2× sccache's warm and ≤ 0.3× no cache",
      pass: warmVsSccache <= 0.2 && warmVsNone <= 0.3,
      measured: `${formatRatio(warmVsSccache)} sccache, ${formatRatio(warmVsNone)} no cache`,
    },
    {
      name: "edit loop, `cargo build` ≤ 1.05× plain cargo (median of the paired ratios, 5 edits per round)",
      pass: editBuildRatio <= 1.05,
      measured: editMeasured(editBuildPairs, "editBuild"),
    },
    {
      name: "edit loop, `cargo check` ≤ 1.05× plain cargo (median of the paired ratios, 5 edits per round)",
      pass: editCheckRatio <= 1.05,
      measured: editMeasured(editCheckPairs, "editCheck"),
    },
    {
      name: "branch switch between two revisions built before ≤ 1.0× plain cargo",
      pass: switchRatio <= 1.0,
      measured: `${formatRatio(switchRatio)} (${formatSeconds(value.kache.switch)} vs ${formatSeconds(value.none.switch)})`,
    },
    {
      name: "zero dep-info pre-passes on a warm rebuild of an unchanged tree",
      pass: events.prepassesPerWarm === 0,
      measured: `${events.prepassesPerWarm} per warm rebuild${prepassWhere}`,
    },
    {
      name: "per-hit overhead (key + lookup, without restore) median ≤ 10 ms",
      pass: events.keyLookupMedianMs <= 10,
      measured: `${formatMilliseconds(events.keyLookupMedianMs)} (p95 ${formatMilliseconds(events.keyLookupP95Ms)})`,
    },
    {
      name: "per-hit key + lookup + restore (content checks included) median ≤ 10 ms",
      pass: events.perHitMedianMs <= 10,
      measured: `${formatMilliseconds(events.perHitMedianMs)} (p95 ${formatMilliseconds(events.perHitP95Ms)}); restore ${events.restoreMsPerMb.toFixed(2)} ms per MB`,
    },
    {
      name: "cold build with an empty cache ≤ 1.05× no cache (median of the paired ratios)",
      pass: coldRatio <= 1.05,
      measured: `${formatRatio(coldRatio)} over ${coldPairs.length} pairs (ratio of the medians ${formatRatio(ratio(value.kache.cold, value.none.cold))})`,
    },
    { name: "no-op build ≤ 1.05× no cache", pass: noopRatio <= 1.05, measured: formatRatio(noopRatio) },
    {
      name: "pass-through (`rustc -vV`) ≤ 10 ms over rustc directly",
      pass: passthrough <= 10,
      measured: `+${formatMilliseconds(passthrough)}`,
    },
    {
      name: "a failed connect to a dead or missing daemon socket: median < 2 ms, p95 < 10 ms",
      pass: daemon.refused.medianMs < 2 && daemon.refused.p95Ms < 10 && daemon.missing.medianMs < 2,
      measured: `dead ${formatSpread(daemon.refused)}; missing ${formatSpread(daemon.missing)}`,
    },
    {
      name: "warm path-ws rebuild with a remote configured and no daemon ≤ 1.2× without a remote (best of each)",
      pass: remoteRatio <= 1.2,
      measured: `${formatRatio(remoteRatio)} (${formatMilliseconds(daemon.warmWithRemote.minMs)} vs ${formatMilliseconds(daemon.warmWithoutRemote.minMs)})`,
    },
    {
      name: "a remote check against a silent daemon gives up at its 20 ms answer timeout: within [19, 50) ms, median < 25 ms",
      pass: daemon.silent.minMs >= 19 && daemon.silent.maxMs < 50 && daemon.silent.medianMs < 25,
      measured: formatSpread(daemon.silent),
    },
  ];
}

function formatSpread(spread: Spread): string {
  return (
    `median ${formatMilliseconds(spread.medianMs)}, p95 ${formatMilliseconds(spread.p95Ms)}, ` +
    `${formatMilliseconds(spread.minMs)}–${formatMilliseconds(spread.maxMs)}`
  );
}

export function targetLines(list: Target[]): string[] {
  return list.map((target) => `- **${target.pass ? "PASS" : "MISS"}** ${target.name}: ${target.measured}`);
}

function microLines(
  measurements: Measurements,
  startup: StartupFigures,
  events: EventFigures,
  daemon: DaemonFallbackFigures,
): string[] {
  const counts = measurements.sccacheWarmCounts;
  const sccacheHits = median(counts.map((count) => count.hits));
  const sccacheMisses = median(counts.map((count) => count.misses));
  const sccacheNotCached = median(counts.map((count) => count.notCached));
  const nonHits = events.nonHitOutcomes.length ? ` (${events.nonHitOutcomes.join(", ")})` : "";
  return [
    `- \`kache --version\` start-up: ${formatMilliseconds(startup.versionMs)} (median of 60)`,
    `- \`rustc -vV\`: ${formatMilliseconds(startup.rustcDirectMs)} direct, ` +
      `${formatMilliseconds(startup.rustcThroughKacheMs)} through kache ` +
      `(+${formatMilliseconds(startup.passthroughOverheadMs)}, the median of 60 back-to-back pairs; ` +
      `toolchain binary \`${startup.rustc}\`)`,
    `- per local hit, over ${events.hits} hits of the warm rebuilds: key + lookup median ` +
      `${formatMilliseconds(events.keyLookupMedianMs)}, p95 ${formatMilliseconds(events.keyLookupP95Ms)}; ` +
      `restore median ${formatMilliseconds(events.restoreMedianMs)} (${events.restoreMsPerMb.toFixed(2)} ms per MB, ` +
      `every file checked against its xxHash3); key + lookup + restore median ` +
      `${formatMilliseconds(events.perHitMedianMs)}, p95 ${formatMilliseconds(events.perHitP95Ms)}; whole call (elapsed_ms) median ` +
      `${formatMilliseconds(events.elapsedMedianMs)}, measured inside the process: with start-up, a hit costs ` +
      `about ${formatMilliseconds(startup.versionMs + events.elapsedMedianMs)}`,
    missLine("cold build", events.coldMisses, startup),
    missLine("edit loop (`cargo build`)", events.editMisses, startup),
    `- dep-info pre-passes per warm rebuild: ${events.prepassesPerWarm} with direct mode, ` +
      `${events.prepassesPerDirectOff} with \`KACHE_DIRECT_MODE=0\``,
    `- kache compile units that were not local hits per warm rebuild: ${events.nonHitsPerWarm}${nonHits}`,
    `- kache calls during the no-op builds, per round: ${measurements.kacheNoopCalls.join(", ")}` +
      (measurements.kacheNoopCalls.every((calls) => calls === 0)
        ? " (cargo found every unit fresh and never ran the wrapper, so a no-op difference is noise)"
        : ""),
    `- sccache per warm rebuild: ${sccacheHits} hits, ${sccacheMisses} misses, ${sccacheNotCached} not cacheable ` +
      "(bins, proc-macros, build scripts)",
    `- failed connect to the daemon socket (\`callDaemon\`, ${daemon.refused.samples} tries each): ` +
      `dead socket (ECONNREFUSED) ${formatSpread(daemon.refused)}; ` +
      `no socket file (ENOENT) ${formatSpread(daemon.missing)}`,
    `- remote check against a daemon that accepts and never answers (the wrapper's \`remoteCheck\`, ` +
      `${daemon.silent.samples} tries): ${formatSpread(daemon.silent)}`,
    `- warm rebuild of tests/fixtures/path-ws (all local hits), ${daemon.warmWithRemote.samples} each, ` +
      `alternating: with KACHE_S3_BUCKET and a dead daemon socket ${formatSpread(daemon.warmWithRemote)}; ` +
      `without a remote ${formatSpread(daemon.warmWithoutRemote)}`,
  ];
}

function missLine(label: string, misses: MissFigures, startup: StartupFigures): string {
  return (
    `- per miss, ${label}, over ${misses.misses} misses: start-up ${formatMilliseconds(startup.versionMs)}, ` +
    `key ${formatMilliseconds(misses.keyMs)}, compile ${formatMilliseconds(misses.compileMs)}, ` +
    `store ${formatMilliseconds(misses.storeMs)}; all of kache's own time in the process ` +
    `(elapsed minus compile) ${formatMilliseconds(misses.overheadMs)} (medians)`
  );
}

/** Ratios within each round (one sample per mode per round), which drift between rounds does not skew. */
function pairedLines(measurements: Measurements): string[] {
  const { none, sccache, kache } = measurements.seconds;
  const paired = (top: number[], bottom: number[]) =>
    top.map((value, index) => formatRatio(ratio(value, bottom[index] ?? Number.NaN))).join(", ");
  // The edit loops and switches record several builds per round: their per-round medians pair up.
  const perRound = (values: number[], size: number) =>
    Array.from({ length: Math.ceil(values.length / size) }, (_, i) =>
      median(values.slice(i * size, (i + 1) * size)),
    );
  const loop = (scenario: "editBuild" | "editCheck", size: number) =>
    paired(perRound(kache[scenario], size), perRound(none[scenario], size));
  return [
    `- per pair of cold builds (${coldBuildsPerRound} per round, the second in mirrored order), kache / none: ${paired(kache.cold, none.cold)}; sccache / none: ${paired(sccache.cold, none.cold)}`,
    `- per round, warm kache / sccache: ${paired(kache.warm, sccache.warm)}; kache / none: ${paired(kache.warm, none.warm)}`,
    `- per round (median of ${editsPerLoop} edits), edit loop kache / none: build ${loop("editBuild", editsPerLoop)}; ` +
      `check ${loop("editCheck", editsPerLoop)}`,
    `- per round (median of 3 switches), branch switch kache / none: ${paired(perRound(kache.switch, 3), perRound(none.switch, 3))}`,
  ];
}

function sampleLines(measurements: Measurements): string[] {
  const lines = [...pairedLines(measurements), "", "| mode | scenario | samples |", "|---|---|---|"];
  for (const [mode, scenarios] of Object.entries(measurements.seconds)) {
    for (const [scenario, values] of Object.entries(scenarios)) {
      if (values.length) lines.push(`| ${mode} | ${scenario} | ${values.map(formatSeconds).join(", ")} |`);
    }
  }
  return lines;
}

export function markdown(
  context: Context,
  measurements: Measurements,
  startup: StartupFigures,
  events: EventFigures,
  daemon: DaemonFallbackFigures,
  remote: RemoteWarmFigures,
): string {
  return [
    "# kache benchmark results",
    "",
    `Written by \`npm run bench\` (bench/run.ts) on ${context.date}, ${context.rounds} rounds; ` +
      "the figures are medians over rounds (the edit loops and switches: over every build of them), " +
      "wall time of `cargo build` or `cargo check` with cargo's defaults (dev profile, default -j, " +
      "incremental on for the workspace members, in every mode).",
    "",
    `Workload: bench/workload, a workspace of ${context.members.length} members ` +
      `(${context.members.join(", ")}) resolving to ${context.packages} packages from Debian's ` +
      "`librust-*-dev` crates through an offline directory source.",
    "",
    "## Machine and versions",
    "",
    ...context.machine.map((line) => `- ${line}`),
    ...context.versions.map((line) => `- ${line}`),
    "- The machine is shared with other test runs, so single figures can carry their noise; " +
      "modes alternate within each round to spread it.",
    "",
    "## Builds",
    "",
    resultTable(measurements),
    "",
    "## Micro-figures",
    "",
    ...microLines(measurements, startup, events, daemon),
    "",
    "## Fresh machine, warm bucket",
    "",
    ...remoteWarmLines(remote, measurements),
    "",
    "## Targets",
    "",
    ...targetLines([
      ...targets(measurements, startup, events, daemon),
      ...remoteWarmTargets(remote, measurements),
    ]),
    "",
    "## Samples",
    "",
    ...sampleLines(measurements),
    "",
  ].join("\n");
}
