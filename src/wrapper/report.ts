// The progress line on stderr (a public format, SPEC §2) and the events.jsonl record of each invocation.
import { cargoStderr, isTerminal, parentStderr } from "../util/parent-stderr";
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
 * Where the progress line goes, or null for none. `auto` prints when the user's stderr is no terminal.
 * A Rust wrapper's line goes to cargo's stderr (see cargoStderr). Without `ownStderr` (`kache cc`)
 * it goes only to the parent's stderr (or, with `always`, to ours): the `cc` crate turns every line
 * of its compiler's stderr into a `cargo:warning`.
 */
export function progressTarget(mode: ProgressMode, ownStderr = true): number | null {
  if (mode === "never") return null;
  const parent = ownStderr ? cargoStderr() : parentStderr();
  if (parent === null && !ownStderr && mode !== "always") return null;
  const fd = parent ?? 2;
  // A terminal is a character device; node:tty would answer exactly but costs ~4ms of start-up.
  if (mode === "auto" && isTerminal(fd)) return null;
  return fd;
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
    }
  }
  if (!events) return;
  try {
    appendEvent(events, event);
  } catch {
    // a read-only or full cache dir loses the event, never the build
  }
}
