// `kache why-miss CRATE`: compares the crate's last miss with its nearest earlier entry and names the
// key components that differ, down to the file or variable.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { type Entry, IndexDb } from "../store/index-db";
import { KacheError } from "../util/errors";
import type { KeyComponents } from "../wrapper/cache-key";
import { settingsOrExit } from "./cli-settings";
import { writeOut } from "./colour";
import { crateName, type HistoryEvent, readHistory } from "./history";
import { describeLine, diffDistance, explainDiff } from "./key-diff";
import { formatTime } from "./table";

/** Lines shown per component; a changed dependency tree can name hundreds of files. */
const LINES_PER_COMPONENT = 20;

interface Recorded {
  /** The newest miss of the crate with a key, or null. */
  miss: HistoryEvent | null;
  /** Events of the crate, for the message when there is no miss. */
  seen: number;
  /** The miss's entry (or its location marker, which carries the same components). */
  missEntry: Entry | null;
  entries: Entry[];
}

function recorded(cacheDir: string, crate: string): Recorded {
  const events = readHistory(cacheDir).filter((event) => event.crate === crate);
  const miss = events.findLast((event) => event.outcome === "miss" && event.key !== null) ?? null;
  if (!existsSync(join(cacheDir, "index.db")))
    return { miss, seen: events.length, missEntry: null, entries: [] };
  const index = IndexDb.open(cacheDir);
  try {
    const missEntry = miss?.key ? index.getEntry(miss.key) : null;
    return { miss, seen: events.length, missEntry, entries: index.entriesForCrate(crate, 10_000) };
  } finally {
    index.close();
  }
}

function components(entry: Entry): Partial<KeyComponents> {
  return entry.components as Partial<KeyComponents>;
}

interface Nearest {
  /** The earlier entry whose components differ least (but differ), or null. */
  entry: Entry | null;
  /** An earlier entry with the very same components: the miss's key bound to another location. */
  sameKey: Entry | null;
}

/**
 * The package whose build script an entry is (rustc calls every one `build_script_build`): the
 * `<package>-<hash>` dir cargo compiles it into. Null for any other crate.
 */
export function buildScriptPackage(entry: Entry): string | null {
  const outDir = components(entry).flags?.find((line) => line.startsWith("out-dir="));
  const match = outDir && /\/build\/([^/]+)-[0-9a-f]{16}$/.exec(outDir);
  return entry.crate.startsWith("build_script_") && match ? match[1]! : null;
}

/**
 * Among the entries made before the miss, the one whose components differ least (newest on a tie);
 * for a build script, only among the same package's.
 */
export function nearestEarlier(missEntry: Entry, entries: Entry[]): Nearest {
  let best: { entry: Entry; distance: number } | null = null;
  let sameKey: Entry | null = null;
  const pkg = buildScriptPackage(missEntry);
  for (const entry of entries) {
    if (entry.key === missEntry.key || entry.created >= missEntry.created) continue;
    if (pkg !== null && buildScriptPackage(entry) !== pkg) continue;
    const distance = diffDistance(components(entry), components(missEntry));
    if (distance === 0) sameKey ??= entry;
    else if (
      !best ||
      distance < best.distance ||
      (distance === best.distance && entry.created > best.entry.created)
    )
      best = { entry, distance };
  }
  return { entry: best?.entry ?? null, sameKey };
}

function explain(crate: string, cacheDir: string): string[] {
  const { miss, seen, missEntry, entries } = recorded(cacheDir, crate);
  if (!miss && seen === 0 && entries.length === 0)
    throw new KacheError(
      `nothing recorded for ${crate} in ${cacheDir}`,
      "give the crate name as rustc sees it; `kache list` shows the cached ones",
    );
  if (!miss) return [`${crate}: no miss recorded (${seen} events in the log): nothing to explain`];
  const pkg = missEntry ? buildScriptPackage(missEntry) : null;
  const who = pkg ? `${crate} (${pkg}'s build script)` : crate;
  const head = `${who}: last miss at ${formatTime(miss.time)}, key ${miss.key!.slice(0, 12)}`;
  if (!missEntry)
    return [head, "  its entry is not in the index (not stored, or evicted since): nothing to compare"];
  const { entry: older, sameKey } = nearestEarlier(missEntry, entries);
  if (sameKey && missEntry.boundTo)
    return [
      head,
      `  the key matches entry ${sameKey.key.slice(0, 12)} (created ${formatTime(sameKey.created)}), but its outputs embed`,
      `  local paths (${missEntry.boundTo.split(",").join(", ")}), so it is cached per location and this one differs`,
    ];
  if (!older) return [head, "  it is the crate's first entry: nothing earlier to compare it with"];
  const lines = [
    head,
    `  nearest earlier entry: ${older.key.slice(0, 12)}, created ${formatTime(older.created)}`,
  ];
  for (const change of explainDiff(components(older), components(missEntry))) {
    lines.push(`  ${change.component}: ${change.label}`);
    for (const line of change.lines.slice(0, LINES_PER_COMPONENT)) lines.push(`    ${describeLine(line)}`);
    const more = change.lines.length - LINES_PER_COMPONENT;
    if (more > 0) lines.push(`    ... and ${more} more`);
  }
  return lines;
}

export const whyMissCommand = defineCommand({
  meta: { name: "why-miss", description: "Show what changed in a crate's key at its last miss" },
  args: {
    crate: { type: "positional", required: true, description: "crate name as rustc sees it (underscores)" },
  },
  run({ args }) {
    const { cacheDir } = settingsOrExit();
    for (const line of explain(crateName(String(args.crate)), cacheDir)) writeOut(`${line}\n`);
  },
});
