// Figures over a span of events (hits, misses, pass-throughs, hit rates, time saved), overall and per crate,
// in the snake_case shape `stats --json` and `report --format json` print.
import { type HistoryEvent, LANGUAGES, type Language } from "./history";

export interface Transferred {
  count: number;
  bytes: number;
}

export interface ActivityFigures {
  events: { count: number; first: string | null; last: string | null };
  hits: { total: number; local: number; remote: number; prefetch: number };
  misses: number;
  passthroughs: { total: number; by_reason: Record<string, number> };
  /** Hits over hits plus misses (pass-throughs are neither), by count, bytes and compile time; null with neither. */
  hit_rate: { count: number | null; size: number | null; time: number | null };
  /** What the hits would have cost to compile, minus what they took. */
  time_saved_ms: number;
  /** Bytes hits placed by hardlink or clone instead of a copy. */
  hardlink_saved_bytes: number;
  bytes: { hits: number; misses: number };
  compile_ms: { hits: number; misses: number };
  /** Entries the hits brought from the remote: at the call (remote hit) or before it (prefetch hit). */
  transfers: { remote_hits: Transferred; prefetch_hits: Transferred };
}

export interface CrateFigures {
  /** The crate, or for C/C++ the source file. */
  crate: string;
  language: Language;
  hits: number;
  misses: number;
  passthroughs: number;
  hit_rate: number | null;
  time_saved_ms: number;
  /** Compile time the misses spent. */
  miss_compile_ms: number;
}

export interface SlowMiss {
  time: string;
  crate: string;
  language: Language;
  compile_ms: number;
  elapsed_ms: number;
  size: number;
  key: string | null;
}

export function isHit(event: HistoryEvent): boolean {
  return event.outcome.endsWith("hit");
}

function ratio(part: number, whole: number): number | null {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** Figures with nothing counted yet; `tallyEvent` adds to them and `settleFigures` derives the rates. */
export function emptyFigures(): ActivityFigures {
  return {
    events: { count: 0, first: null, last: null },
    hits: { total: 0, local: 0, remote: 0, prefetch: 0 },
    misses: 0,
    passthroughs: { total: 0, by_reason: {} },
    hit_rate: { count: null, size: null, time: null },
    time_saved_ms: 0,
    hardlink_saved_bytes: 0,
    bytes: { hits: 0, misses: 0 },
    compile_ms: { hits: 0, misses: 0 },
    transfers: { remote_hits: { count: 0, bytes: 0 }, prefetch_hits: { count: 0, bytes: 0 } },
  };
}

function countHit(figures: ActivityFigures, event: HistoryEvent): void {
  figures.hits.total += 1;
  figures.bytes.hits += event.size;
  figures.compile_ms.hits += event.compileMs;
  figures.time_saved_ms += event.compileMs - event.elapsedMs;
  figures.hardlink_saved_bytes += event.linkedBytes;
  if (event.outcome === "local hit") figures.hits.local += 1;
  const { transfers } = figures;
  const transfer =
    event.outcome === "remote hit"
      ? transfers.remote_hits
      : event.outcome === "prefetch hit"
        ? transfers.prefetch_hits
        : null;
  if (transfer) {
    transfer.count += 1;
    transfer.bytes += event.size;
  }
}

/** Counts one event (events come oldest first). */
export function tallyEvent(figures: ActivityFigures, event: HistoryEvent): void {
  figures.events.count += 1;
  figures.events.first ??= iso(event.time);
  figures.events.last = iso(event.time);
  if (event.outcome === "passthrough") {
    const reason = event.reason ?? "unknown";
    figures.passthroughs.total += 1;
    figures.passthroughs.by_reason[reason] = (figures.passthroughs.by_reason[reason] ?? 0) + 1;
  } else if (event.outcome === "miss") {
    figures.misses += 1;
    figures.bytes.misses += event.size;
    figures.compile_ms.misses += event.compileMs;
  } else countHit(figures, event);
}

/** A copy of tallied figures with what follows from the counts: hit rates, rounded time saved. */
export function settleFigures(tally: ActivityFigures): ActivityFigures {
  const figures = structuredClone(tally);
  figures.hits.remote = figures.transfers.remote_hits.count;
  figures.hits.prefetch = figures.transfers.prefetch_hits.count;
  figures.time_saved_ms = Math.round(figures.time_saved_ms);
  const { hits, bytes, compile_ms } = figures;
  figures.hit_rate = {
    count: ratio(hits.total, hits.total + figures.misses),
    size: ratio(bytes.hits, bytes.hits + bytes.misses),
    time: ratio(compile_ms.hits, compile_ms.hits + compile_ms.misses),
  };
  return figures;
}

export function activityFigures(events: HistoryEvent[]): ActivityFigures {
  const figures = emptyFigures();
  for (const event of events) tallyEvent(figures, event);
  return settleFigures(figures);
}

export type LanguageFigures = Record<Language, ActivityFigures>;

/** The same figures for each language's events apart. */
export function languageFigures(events: HistoryEvent[]): LanguageFigures {
  return Object.fromEntries(
    LANGUAGES.map((language) => [
      language,
      activityFigures(events.filter((event) => event.language === language)),
    ]),
  ) as LanguageFigures;
}

/** How a row names its unit: the crate, or `cc foo.c` / `c++ foo.cpp` for a C/C++ source file. */
export function unitLabel(unit: { crate: string; language: Language }): string {
  if (unit.language === "rust") return unit.crate;
  return `${unit.language === "c" ? "cc" : "c++"} ${unit.crate}`;
}

/** Per crate (per source file for C/C++), the most expensive first (compile time of its hits and misses together). */
export function crateFigures(events: HistoryEvent[]): CrateFigures[] {
  const byCrate = new Map<string, CrateFigures & { cost: number }>();
  for (const event of events) {
    const name = event.crate || (event.language === "rust" ? "rustc" : event.language);
    const id = `${event.language}\0${name}`;
    let crate = byCrate.get(id);
    if (!crate) {
      crate = {
        crate: name,
        language: event.language,
        hits: 0,
        misses: 0,
        passthroughs: 0,
        hit_rate: null,
        time_saved_ms: 0,
        miss_compile_ms: 0,
        cost: 0,
      };
      byCrate.set(id, crate);
    }
    if (event.outcome === "passthrough") crate.passthroughs += 1;
    else if (event.outcome === "miss") {
      crate.misses += 1;
      crate.miss_compile_ms += event.compileMs;
      crate.cost += event.compileMs;
    } else {
      crate.hits += 1;
      crate.time_saved_ms += event.compileMs - event.elapsedMs;
      crate.cost += event.compileMs;
    }
  }
  return [...byCrate.values()]
    .sort((a, b) => b.cost - a.cost || a.crate.localeCompare(b.crate))
    .map(({ cost: _cost, ...crate }) => ({
      ...crate,
      hit_rate: ratio(crate.hits, crate.hits + crate.misses),
      time_saved_ms: Math.round(crate.time_saved_ms),
      miss_compile_ms: Math.round(crate.miss_compile_ms),
    }));
}

/** The misses that compiled longest, slowest first. */
export function slowestMisses(events: HistoryEvent[], limit = 10): SlowMiss[] {
  return events
    .filter((event) => event.outcome === "miss")
    .sort((a, b) => b.compileMs - a.compileMs)
    .slice(0, limit)
    .map((event) => ({
      time: new Date(event.time).toISOString(),
      crate: event.crate,
      language: event.language,
      compile_ms: event.compileMs,
      elapsed_ms: event.elapsedMs,
      size: event.size,
      key: event.key,
    }));
}
