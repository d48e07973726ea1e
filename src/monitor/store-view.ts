// The Store tab's rows and the header's store figures, read from index.db (and a walk of store/)
// again only after another process has committed to the index: at most every few seconds while
// builds write to it, since a big index takes tens of ms to read.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type StoreFigures, storeFigures } from "../cli/store-summary";
import { type EntrySummary, IndexDb } from "../store/index-db";

/** The fewest ms between two reads while the index keeps changing; quicker while the Store tab shows. */
const READ_EVERY_MS = 5000;
const READ_EVERY_SHOWN_MS = 1000;
/** Blobs can go without a commit (a removed blob, a discarded temp): walk again this often anyway. */
const WALK_EVERY_MS = 60_000;

export interface StoreRow {
  key: string;
  crate: string;
  size: number;
  hits: number;
  created: number;
  lastUsed: number;
  compileMs: number;
  /** Cached for this location only. */
  bound: boolean;
}

export const STORE_SORTS = ["name", "size", "hits", "age"] as const;
export type StoreSort = (typeof STORE_SORTS)[number];

const ORDER: Record<StoreSort, (a: StoreRow, b: StoreRow) => number> = {
  name: (a, b) => a.crate.localeCompare(b.crate) || b.lastUsed - a.lastUsed,
  size: (a, b) => b.size - a.size,
  hits: (a, b) => b.hits - a.hits || b.lastUsed - a.lastUsed,
  // Oldest use first: what gc would take next.
  age: (a, b) => a.lastUsed - b.lastUsed,
};

function markerKey(entry: EntrySummary): string {
  return `${entry.crate}\0${entry.componentsText}`;
}

export class StoreView {
  rows: StoreRow[] = [];
  figures: StoreFigures | null = null;
  /** The last order asked for: the Store tab redraws every second, the index changes far less often. */
  private sorted: { sort: StoreSort; filter: string; rows: StoreRow[] } | null = null;
  private index: IndexDb | null = null;
  private seenChange = -1;
  private readAt = 0;

  constructor(
    private readonly cacheDir: string,
    private readonly limitBytes: number,
  ) {}

  /** `shown`: the Store tab is on screen, so its rows are worth reading sooner. */
  refresh(shown: boolean, now = Date.now()): void {
    if (!this.index && existsSync(join(this.cacheDir, "index.db"))) this.index = IndexDb.open(this.cacheDir);
    const change = this.index?.changeCounter() ?? 0;
    const since = now - this.readAt;
    const due =
      change !== this.seenChange
        ? since >= (shown ? READ_EVERY_SHOWN_MS : READ_EVERY_MS)
        : since >= WALK_EVERY_MS;
    if (!due && this.figures) return;
    this.seenChange = change;
    this.readAt = now;
    this.read();
  }

  private read(): void {
    const summaries = this.index?.entrySummaries() ?? [];
    const entries = summaries.filter((entry) => entry.boundTo === null);
    const markers = new Set(summaries.filter((entry) => entry.boundTo !== null).map(markerKey));
    const bound = new Set(entries.filter((entry) => markers.has(markerKey(entry))).map((entry) => entry.key));
    this.figures = storeFigures(this.cacheDir, this.limitBytes, { entries, bindings: bound });
    this.rows = entries.map((entry) => ({
      key: entry.key,
      crate: entry.crate,
      size: entry.size,
      hits: entry.hits,
      created: entry.created,
      lastUsed: entry.lastUsed,
      compileMs: entry.compileMs,
      bound: bound.has(entry.key),
    }));
    this.sorted = null;
  }

  /** The rows whose crate contains `filter`, in `sort` order; worked out again only after a read. */
  sortedRows(sort: StoreSort, filter: string): StoreRow[] {
    if (this.sorted?.sort === sort && this.sorted.filter === filter) return this.sorted.rows;
    const needle = filter.toLowerCase();
    const rows = this.rows
      .filter((row) => needle === "" || row.crate.toLowerCase().includes(needle))
      .sort(ORDER[sort]);
    this.sorted = { sort, filter, rows };
    return rows;
  }

  close(): void {
    this.index?.close();
    this.index = null;
  }
}
