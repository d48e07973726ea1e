// The progress line on stderr (a public format, SPEC §2) and the events.jsonl record of each invocation.
import { closeSync, constants, fstatSync, openSync, statSync } from "node:fs";
import { formatBytes, formatDuration } from "../util/size";
import { writeAllSync } from "../util/write-all";
import { appendEventLine } from "./event-log";
import type { Outcome, PassthroughReason } from "./outcomes";

export type ProgressMode = "always" | "never" | "auto";

export interface Phases {
  key?: number;
  lookup?: number;
  restore?: number;
  compile?: number;
  store?: number;
  prepass?: number;
  /** Waiting for the daemon's remote check. */
  remote?: number;
}

export interface InvocationEvent {
  crate: string;
  outcome: Outcome;
  elapsedMs: number;
  /** Compile time of the entry: on a hit, the time saved. */
  compileMs: number;
  size: number;
  /** On a hit, the bytes restored by hardlink or clone rather than copied. */
  linkedBytes?: number;
  key: string | null;
  phases: Phases;
  reason?: PassthroughReason;
  detail?: string;
  prepass: boolean;
  outDir?: string | null;
  /** Missing means rust (events written before C/C++ caching have none). */
  language?: Language;
}

export type Language = "rust" | "c" | "c++";

export function progressLine(event: InvocationEvent): string {
  const language = event.language ?? "rust";
  // C and C++ lines say which: `[kache] cc foo.c: local hit (3ms, 12 KB)`.
  const prefix = language === "c" ? "cc " : language === "c++" ? "c++ " : "";
  const crate = `${prefix}${event.crate || (language === "rust" ? "rustc" : "")}`;
  if (event.outcome === "passthrough") return `[kache] ${crate}: passthrough (${event.reason ?? "unknown"})`;
  return `[kache] ${crate}: ${event.outcome} (${formatDuration(event.elapsedMs)}, ${formatBytes(event.size)})`;
}

/**
 * Cargo stores every stderr line of rustc and replays it when the unit is fresh, so a line written
 * to our own stderr would come back on every no-op build. On Linux the line goes straight to
 * cargo's stderr instead, when that is a pipe or terminal (never a regular file: no offsets to race).
 */
function openParentStderr(): number | null {
  // An orphaned wrapper's parent is init: its stderr is nobody's build log.
  if (process.platform !== "linux" || process.ppid <= 1) return null;
  try {
    const fd = openSync(
      `/proc/${process.ppid}/fd/2`,
      constants.O_WRONLY | constants.O_APPEND | constants.O_NOCTTY,
    );
    const stat = fstatSync(fd);
    if (stat.isFIFO() || stat.isCharacterDevice() || stat.isSocket()) return fd;
    closeSync(fd);
  } catch {
    // not permitted or gone: fall back to our own stderr
  }
  return null;
}

function isDevNull(fd: number): boolean {
  const stat = fstatSync(fd);
  const devNull = statSync("/dev/null");
  return stat.rdev === devNull.rdev;
}

/**
 * Where the progress line goes, or null for none. `auto` prints when the user's stderr is no terminal.
 * Without `ownStderr` the line goes only to the parent's stderr (or, with `always`, to ours): the
 * `cc` crate turns every line of its compiler's stderr into a `cargo:warning`.
 */
export function progressTarget(mode: ProgressMode, ownStderr = true): number | null {
  if (mode === "never") return null;
  const parent = openParentStderr();
  if (parent === null && !ownStderr && mode !== "always") return null;
  // A terminal is a character device; node:tty would answer exactly but costs ~4ms of start-up.
  const userIsTerminal = fstatSync(parent ?? 2).isCharacterDevice() && !isDevNull(parent ?? 2);
  if (mode === "auto" && userIsTerminal) {
    if (parent !== null) closeSync(parent);
    return null;
  }
  return parent ?? 2;
}

/** Where events go: the cache dir, and the size at which events.jsonl is rotated. */
export interface EventTarget {
  cacheDir: string;
  eventsMaxSize: number;
}

/** One line per invocation, appended with a single write so hundreds of writers never interleave. */
export function appendEvent(target: EventTarget, event: InvocationEvent): void {
  const record = {
    time: new Date().toISOString(),
    crate: event.crate,
    outcome: event.outcome,
    elapsed_ms: Math.round(event.elapsedMs * 10) / 10,
    compile_ms: Math.round(event.compileMs),
    saved_ms: event.outcome.endsWith("hit") ? Math.round(event.compileMs) : 0,
    size: event.size,
    linked_bytes: event.linkedBytes ?? 0,
    key: event.key,
    phases: Object.fromEntries(Object.entries(event.phases).map(([k, v]) => [k, Math.round(v * 100) / 100])),
    prepass: event.prepass,
    reason: event.reason ?? null,
    detail: event.detail ?? null,
    out_dir: event.outDir ?? null,
    language: event.language ?? "rust",
    pid: process.pid,
  };
  appendEventLine(target.cacheDir, `${JSON.stringify(record)}\n`, target.eventsMaxSize);
}

export function report(
  events: EventTarget | null,
  mode: ProgressMode,
  event: InvocationEvent,
  ownStderr = true,
): void {
  const fd = progressTarget(mode, ownStderr);
  if (fd !== null) {
    try {
      writeAllSync(fd, `${progressLine(event)}\n`);
    } catch {
      // cargo went away; nothing to tell
    } finally {
      if (fd !== 2) closeSync(fd);
    }
  }
  if (!events) return;
  try {
    appendEvent(events, event);
  } catch {
    // a read-only or full cache dir loses the event, never the build
  }
}
