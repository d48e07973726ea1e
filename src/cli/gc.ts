// `kache gc [--max-age DUR] [--dry-run] [--json]`: evicts the least valuable entries until the store
// is under 90% of local_max_size, entries unused for longer than --max-age, and leftovers (SPEC §4).

import { setPriority } from "node:os";
import { defineCommand } from "citty";
import type { Settings } from "../config/settings";
import { ensureCacheDir } from "../store/cache-dir";
import { collectGarbage, type GcOptions, type GcReport, type RemovedEntry, takeGcLock } from "../store/gc";
import { IndexDb } from "../store/index-db";
import { type MadeRoom, makeRoom } from "../store/make-room";
import { parseDuration } from "../util/duration";
import { KacheError } from "../util/errors";
import { formatBytes, formatLimit } from "../util/size";
import type { KeyComponents } from "../wrapper/cache-key";
import { invocationFingerprint } from "../wrapper/direct-mode";
import { settingsOrExit } from "./cli-settings";
import { writeErr, writeOut } from "./colour";

/** How long `kache gc` by hand waits for a gc already running (the daemon's, say). */
const WAIT_FOR_OTHER_GC_MS = 5 * 60_000;

function out(line = ""): void {
  writeOut(`${line}\n`);
}

export interface UpkeepRun {
  /** Background runs give way to a gc already running instead of waiting for it. */
  background: boolean;
  options: Omit<GcOptions, "maxSize" | "cleanIncremental" | "fingerprintOf">;
}

/** Runs gc (or a purge) under the gc lock; null when a background run gave way to another gc. */
export async function runUpkeep(settings: Settings, run: UpkeepRun): Promise<GcReport | null> {
  ensureCacheDir(settings.cacheDir);
  let lock = await takeGcLock(settings.cacheDir, 0);
  if (!lock && run.background) return null;
  if (!lock) {
    writeErr("kache: waiting for another gc of this cache to finish\n");
    lock = await takeGcLock(settings.cacheDir, WAIT_FOR_OTHER_GC_MS);
  }
  if (!lock)
    throw new KacheError(
      `another kache gc of ${settings.cacheDir} is still running`,
      "try again once it has finished",
    );
  try {
    // On a full disk the index cannot even open: room first, without it (never for a dry run).
    const madeRoom = run.options.dryRun ? null : makeRoom(settings.cacheDir);
    const index = IndexDb.open(settings.cacheDir);
    try {
      const report = collectGarbage(settings.cacheDir, index, {
        ...run.options,
        maxSize: settings.maxSize,
        cleanIncremental: settings.cleanIncremental,
        fingerprintOf: (components) => invocationFingerprint(components as KeyComponents),
      });
      return { ...report, madeRoom };
    } finally {
      index.close();
    }
  } finally {
    lock.release();
  }
}

function share(bytes: number, limit: number): string {
  return limit > 0 ? `${Math.round((bytes / limit) * 100)}%` : "-";
}

function ago(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes}m ago`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)}h ago`;
  return `${Math.round(minutes / 1440)}d ago`;
}

export function count(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`;
}

export function entryLine(entry: RemovedEntry, now = Date.now()): string {
  const used = `last used ${ago(now - entry.lastUsed)}`;
  return `  ${entry.why.padEnd(8)} ${entry.crate} ${entry.key.slice(0, 12)} ${formatBytes(entry.size)}, ${used}`;
}

function byWhy(removed: RemovedEntry[]): string {
  const counts = new Map<string, number>();
  for (const entry of removed) counts.set(entry.why, (counts.get(entry.why) ?? 0) + 1);
  return [...counts].map(([why, n]) => `${n} ${why}`).join(", ");
}

/** What gc or purge took, without the index, to be able to open it on a full disk. */
export function madeRoomLine(room: MadeRoom): string {
  const what = `${count(room.leftovers, "leftover")} of stores and ${count(room.blobs, "blob")}`;
  return `the disk was full (${formatBytes(room.before)} free): removed ${what} (${formatBytes(room.freedBytes)}), least recently used first, to open the index`;
}

/** The human report: what went (or would go), and the store against its limit before and after. */
export function printReport(report: GcReport): void {
  const verb = report.dryRun ? "would remove" : "removed";
  if (report.madeRoom) out(madeRoomLine(report.madeRoom));
  const limit = formatLimit(report.limitBytes);
  out(
    `store: ${formatBytes(report.beforeBytes)} of ${limit} (${share(report.beforeBytes, report.limitBytes)})`,
  );
  if (report.dryRun) for (const entry of report.removed) out(entryLine(entry));
  const why = report.removed.length ? ` (${byWhy(report.removed)})` : "";
  out(
    `${verb} ${count(report.removed.length, "entry", "entries")}${why}, ${formatBytes(report.freed.bytes)} of blobs`,
  );
  if (report.orphans.count || report.temps.count)
    out(
      `${verb} ${count(report.orphans.count, "orphan blob")} (${formatBytes(report.orphans.bytes)}), ${count(report.temps.count, "temp file")} (${formatBytes(report.temps.bytes)})`,
    );
  if (report.markers || report.manifests)
    out(
      `${verb} ${count(report.markers, "location marker")}, ${count(report.manifests, "input list")} no entry uses`,
    );
  for (const dir of report.incremental)
    out(`${verb} incremental dir ${dir.path} (${formatBytes(dir.bytes)})`);
  const after = `${formatBytes(report.afterBytes)} of ${limit} (${share(report.afterBytes, report.limitBytes)})`;
  out(
    `store ${report.dryRun ? "would be" : "now"}: ${after}, ${count(report.entriesAfter, "entry", "entries")}`,
  );
}

function parseMaxAge(text: string | undefined): number | null {
  if (text === undefined) return null;
  try {
    return parseDuration(text);
  } catch (error) {
    const bad = error as KacheError;
    throw new KacheError(`--max-age: ${bad.message}`, bad.hint, 2);
  }
}

/** A gc kache started by itself takes only CPU that builds leave idle. */
function yieldToBuilds(): void {
  try {
    setPriority(19);
  } catch {
    // not allowed: run at the starter's priority
  }
}

export const gcCommand = defineCommand({
  meta: {
    name: "gc",
    description: "Evict the least valuable entries until the store is under 90% of its limit",
  },
  args: {
    "max-age": {
      type: "string",
      description: "also evict entries unused for longer than this (e.g. 30d)",
      valueHint: "duration",
    },
    "dry-run": { type: "boolean", description: "show what would be removed, remove nothing" },
    json: { type: "boolean", description: "print the report as JSON" },
    background: {
      type: "boolean",
      description: "(kache's own runs) give way to a running gc, lowest CPU priority",
    },
  },
  async run({ args }) {
    const maxAgeMs = parseMaxAge(args["max-age"]);
    const background = Boolean(args.background);
    if (background) yieldToBuilds();
    const settings = settingsOrExit(background);
    const report = await runUpkeep(settings, {
      background,
      options: { maxAgeMs, dryRun: Boolean(args["dry-run"]) },
    });
    if (!report) {
      out("another gc of this cache is running; nothing to do");
      return;
    }
    if (args.json) out(JSON.stringify(report));
    else printReport(report);
  },
});
