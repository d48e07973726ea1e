// Reads the wrapper's event log (events.jsonl, after the rotated events.jsonl.1) for stats, report and why-miss.
import { parseDuration } from "../util/duration";
import { KacheError } from "../util/errors";
import { readEventLines } from "../wrapper/event-log";
import { OUTCOMES, type Outcome } from "../wrapper/outcomes";

/** The language a compiler call was in: lines from before C/C++ caching carry none and are Rust. */
export const LANGUAGES = ["rust", "c", "c++"] as const;
export type Language = (typeof LANGUAGES)[number];

/** One invocation as read back: the fields the readers use, whatever else a line carries. */
export interface HistoryEvent {
  /** Milliseconds since the epoch. */
  time: number;
  /** The crate, or for C/C++ the source file's name. */
  crate: string;
  language: Language;
  outcome: Outcome;
  elapsedMs: number;
  compileMs: number;
  size: number;
  /** Bytes a hit placed by hardlink or clone (0 in events written before kache recorded it). */
  linkedBytes: number;
  key: string | null;
  reason: string | null;
  outDir: string | null;
}

const KNOWN_OUTCOMES = new Set<string>(OUTCOMES);

function number(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** A line as an event, or null: torn (a writer killed mid-line), foreign or from an unknown outcome. */
export function parseEventLine(line: string): HistoryEvent | null {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof raw !== "object" || raw === null) return null;
  const time = Date.parse(String(raw.time));
  if (!Number.isFinite(time) || !KNOWN_OUTCOMES.has(raw.outcome as string)) return null;
  return {
    time,
    crate: text(raw.crate) ?? "",
    language: raw.language === "c" || raw.language === "c++" ? raw.language : "rust",
    outcome: raw.outcome as Outcome,
    elapsedMs: number(raw.elapsed_ms),
    compileMs: number(raw.compile_ms),
    size: number(raw.size),
    linkedBytes: number(raw.linked_bytes),
    key: text(raw.key),
    reason: text(raw.reason),
    outDir: text(raw.out_dir),
  };
}

/** Every readable event, oldest first; with `since`, only those at or after that time (ms). */
export function readHistory(cacheDir: string, since: number | null = null): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (const line of readEventLines(cacheDir)) {
    const event = parseEventLine(line);
    if (event && (since === null || event.time >= since)) events.push(event);
  }
  return events;
}

/** `--since DUR` as a cut-off time in ms, or null without one; a bad duration is a usage error. */
/** The `--since DUR` flag of stats, report and monitor, which `sinceCutoff` reads. */
export const SINCE_FLAG = {
  type: "string",
  valueHint: "duration",
  description: "only events of this last span (30m, 24h, 7d)",
} as const;

export function sinceCutoff(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined || value === "") return null;
  try {
    return now - parseDuration(value);
  } catch (error) {
    const hint = error instanceof KacheError ? error.hint : undefined;
    throw new KacheError(`--since: invalid duration "${value}"`, hint, 2);
  }
}

/** A crate as rustc names it: a cargo package name may have dashes, a rustc crate name never does. */
export function crateName(name: string): string {
  return name.replaceAll("-", "_");
}
