// The timed builds: per round and mode, cold, no-op, the edit loop (build and check), branch
// switches, a leaf edit, and warm rebuilds after rm -rf target.

import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { branchSwitches, type CargoCommand, editLoop, prepareBranches } from "./edit-loop";
import { type Mode, type ModeName, modeNames, type SccacheCounts, takeSccacheCounts } from "./modes";
import { settle } from "./settle";
import { formatSeconds } from "./stats";

export type ScenarioName =
  | "cold"
  | "warm"
  | "noop"
  | "editBuild"
  | "editCheck"
  | "switchFirst"
  | "switch"
  | "edit"
  | "warmDirectOff";

export const scenarioNames: ScenarioName[] = [
  "cold",
  "warm",
  "noop",
  "editBuild",
  "editCheck",
  "switchFirst",
  "switch",
  "edit",
  "warmDirectOff",
];

/** One line of kache's events.jsonl (the fields the benchmark reads). */
export interface KacheEvent {
  crate: string;
  outcome: string;
  elapsed_ms: number;
  size: number;
  phases: {
    prepass?: number;
    key?: number;
    lookup?: number;
    restore?: number;
    compile?: number;
    store?: number;
  };
  prepass: boolean;
  reason: string | null;
}

export interface Measurements {
  seconds: Record<ModeName, Record<ScenarioName, number[]>>;
  /** kache's events of each cold build and of each edit-loop build (misses: the per-step costs). */
  kacheColdEvents: KacheEvent[][];
  kacheEditEvents: KacheEvent[][];
  /** kache's events, one list per warm rebuild (direct mode on, then off). */
  kacheWarmEvents: KacheEvent[][];
  kacheDirectOffEvents: KacheEvent[][];
  /** kache calls (events of any kind) during each round's no-op builds: cargo should call none. */
  kacheNoopCalls: number[];
  sccacheWarmCounts: SccacheCounts[];
}

/** The leaf crate: only the bin depends on it. The edit changes a string in it. */
const leafFile = join("banner", "src", "lib.rs");
const leafText = "counting words in parallel";
/** No-op builds are short and noisy: several per round. */
const noopRepeats = 3;

async function timeCargo(
  mode: Mode,
  extraEnv: Record<string, string> = {},
  command: CargoCommand = "build",
): Promise<number> {
  await settle();
  const started = performance.now();
  const cargo = Bun.spawn(["cargo", command], {
    cwd: mode.workspace,
    env: { ...mode.env, ...extraEnv },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [output, errors, exitCode] = await Promise.all([
    new Response(cargo.stdout).text(),
    new Response(cargo.stderr).text(),
    cargo.exited,
  ]);
  const seconds = (performance.now() - started) / 1000;
  if (exitCode !== 0)
    throw new Error(`cargo ${command} (${mode.name}) failed with ${exitCode}:\n${output}${errors}`);
  return seconds;
}

function removeTarget(mode: Mode): void {
  rmSync(join(mode.workspace, "target"), { recursive: true, force: true });
}

function writeLeaf(mode: Mode, original: string, round: number | null): void {
  const text = round === null ? original : original.replace(leafText, `${leafText} (edit ${round})`);
  writeFileSync(join(mode.workspace, leafFile), text);
}

/** Reads the events kache appended since `offset`; returns them and the new offset. */
function eventsSince(cacheDirectory: string, offset: number): [KacheEvent[], number] {
  const path = join(cacheDirectory, "events.jsonl");
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {
    return [[], 0]; // a reset cache: the next file starts from nothing
  }
  const from = size < offset ? 0 : offset; // a new file since (the cache was reset)
  const text = readFileSync(path).subarray(from, size).toString();
  const events = text
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as KacheEvent);
  return [events, size];
}

function emptyMeasurements(): Measurements {
  const perMode = () =>
    Object.fromEntries(scenarioNames.map((name) => [name, [] as number[]])) as Record<ScenarioName, number[]>;
  return {
    seconds: Object.fromEntries(modeNames.map((name) => [name, perMode()])) as Measurements["seconds"],
    kacheColdEvents: [],
    kacheEditEvents: [],
    kacheWarmEvents: [],
    kacheDirectOffEvents: [],
    kacheNoopCalls: [],
    sccacheWarmCounts: [],
  };
}

/** Reads kache's events in order; the other modes have none. */
function eventReader(mode: Mode): () => KacheEvent[] {
  const cacheDirectory = mode.env.KACHE_CACHE_DIR ?? "";
  let offset = 0;
  return () => {
    if (mode.name !== "kache") return [];
    const [events, next] = eventsSince(cacheDirectory, offset);
    offset = next;
    return events;
  };
}

function recorder(measurements: Measurements) {
  return (scenario: ScenarioName) => (mode: Mode) => (value: number) => {
    measurements.seconds[mode.name][scenario].push(value);
    console.log(`  ${mode.name.padEnd(8)} ${scenario.padEnd(14)} ${formatSeconds(value)}`);
  };
}

/** Seconds of one `cargo <command>` in the mode's workspace, after the machine settles. */
export const time = (mode: Mode, command: CargoCommand) => timeCargo(mode, {}, command);

/**
 * A cold build (fresh cache, no target). Each round builds every mode cold twice, the second time
 * in mirrored order, so each pair of kache and no-cache builds is close in time and neither mode
 * always runs first.
 */
async function cold(mode: Mode, measurements: Measurements, events: () => KacheEvent[], original: string) {
  mode.resetCache();
  writeLeaf(mode, original, null);
  removeTarget(mode);
  events();
  recorder(measurements)("cold")(mode)(await timeCargo(mode));
  if (mode.name === "sccache") takeSccacheCounts(mode);
  if (mode.name === "kache") measurements.kacheColdEvents.push(events());
}

export const coldBuildsPerRound = 2;

/** No-op builds in the trees the last cold builds made. */
async function noop(mode: Mode, measurements: Measurements, events: () => KacheEvent[]) {
  events();
  for (let repeat = 0; repeat < noopRepeats; repeat++)
    recorder(measurements)("noop")(mode)(await timeCargo(mode));
  if (mode.name === "kache") measurements.kacheNoopCalls.push(events().length);
}

/** The leaf edit and the warm rebuilds after rm -rf target (for kache also with direct mode off). */
async function leafAndWarm(
  mode: Mode,
  round: number,
  measurements: Measurements,
  events: () => KacheEvent[],
  original: string,
) {
  const record = recorder(measurements);
  writeLeaf(mode, original, round);
  record("edit")(mode)(await timeCargo(mode));
  writeLeaf(mode, original, null);
  events();
  removeTarget(mode);
  record("warm")(mode)(await timeCargo(mode));
  if (mode.name === "sccache") measurements.sccacheWarmCounts.push(takeSccacheCounts(mode));
  if (mode.name === "kache") measurements.kacheWarmEvents.push(events());
  if (mode.name === "kache") {
    // What direct mode saves: the same warm rebuild with a dep-info pre-pass on every call.
    removeTarget(mode);
    record("warmDirectOff")(mode)(await timeCargo(mode, { KACHE_DIRECT_MODE: "0" }));
    measurements.kacheDirectOffEvents.push(events());
  }
}

async function runRound(order: Mode[], round: number, measurements: Measurements, original: string) {
  const record = recorder(measurements);
  const readers = new Map(order.map((mode) => [mode, eventReader(mode)] as const));
  const events = (mode: Mode) => readers.get(mode)!;
  for (let repeat = 0; repeat < coldBuildsPerRound; repeat++) {
    const modes = repeat % 2 === 0 ? order : [...order].reverse();
    for (const mode of modes) await cold(mode, measurements, events(mode), original);
  }
  for (const mode of order) await noop(mode, measurements, events(mode));
  // The edit loop runs in the trees the cold builds made, as a developer's working tree is.
  await editLoop(order, "build", round, time, record("editBuild"));
  for (const mode of order) if (mode.name === "kache") measurements.kacheEditEvents.push(events(mode)());
  for (const mode of order) await timeCargo(mode, {}, "check"); // check's own metadata-only units, once
  await editLoop(order, "check", round, time, record("editCheck"));
  for (const mode of order) await timeCargo(mode); // back to the unedited sources
  await branchSwitches(order, time, record("switchFirst"), record("switch"));
  for (const mode of order) await leafAndWarm(mode, round, measurements, events(mode), original);
}

/** Alternates the modes within each round, rotating their order so drift spreads evenly. */
export async function runRounds(modes: Mode[], rounds: number, repository: string): Promise<Measurements> {
  const original = readFileSync(join(repository, "bench", "workload", leafFile), "utf8");
  if (!original.includes(leafText)) throw new Error(`${leafFile} no longer contains "${leafText}"`);
  const measurements = emptyMeasurements();
  for (const mode of modes) prepareBranches(mode);
  for (let round = 1; round <= rounds; round++) {
    console.log(`round ${round}/${rounds}`);
    const shift = (round - 1) % modes.length;
    const order = [...modes.slice(shift), ...modes.slice(0, shift)];
    await runRound(order, round, measurements, original);
  }
  return measurements;
}
