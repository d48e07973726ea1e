// The Store tab's rows and the header's store figures, read from index.db (and a walk of store/)
// again only when another process has committed to the index, or every little while for the walk.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { indexContents, type StoreFigures, storeFigures } from "../cli/store-summary";
import { IndexDb } from "../store/index-db";

/** Blobs can come and go without a commit (a discarded temp, a removed blob): walk again this often. */
const WALK_EVERY_MS = 10_000;

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

export class StoreView {
  rows: StoreRow[] = [];
  figures: StoreFigures | null = null;
  /** Bumped by every reload. */
  generation = 0;
  private index: IndexDb | null = null;
  private seenChange = -1;
  private walkedAt = 0;

  constructor(
    private readonly cacheDir: string,
    private readonly limitBytes: number,
  ) {}

  refresh(now = Date.now()): void {
    if (!this.index && existsSync(join(this.cacheDir, "index.db"))) this.index = IndexDb.open(this.cacheDir);
    const change = this.index?.changeCounter() ?? 0;
    if (change === this.seenChange && now - this.walkedAt < WALK_EVERY_MS) return;
    this.seenChange = change;
    this.walkedAt = now;
    const contents = this.index ? indexContents(this.index) : { entries: [], bindings: new Map() };
    this.figures = storeFigures(this.cacheDir, this.limitBytes, contents);
    this.rows = contents.entries.map((entry) => ({
      key: entry.key,
      crate: entry.crate,
      size: entry.size,
      hits: entry.hits,
      created: entry.created,
      lastUsed: entry.lastUsed,
      compileMs: entry.compileMs,
      bound: contents.bindings.has(entry.key),
    }));
    this.generation += 1;
  }

  close(): void {
    this.index?.close();
    this.index = null;
  }
}
