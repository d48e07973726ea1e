// What the monitor knows of the builds, kept up to date one event at a time: the figures of the
// header (as `kache stats` counts them), the newest events for the Build tab, the pass-throughs by
// reason, and the target dirs restores went into. Everything is bounded.
import {
  type ActivityFigures,
  emptyFigures,
  settleFigures,
  tallyEvent,
  unitLabel,
} from "../cli/event-summary";
import type { HistoryEvent } from "../cli/history";
import { Ring } from "./ring";

const RECENT_EVENTS = 2000;
const CRATES_PER_REASON = 5;
const OUT_DIRS = 1000;
const REMOTE_HITS = 200;

export interface PassthroughGroup {
  reason: string;
  count: number;
  last: number;
  /** The crates of its newest calls, newest first, each once. */
  crates: string[];
}

export class Activity {
  private tally: ActivityFigures = emptyFigures();
  private settled: ActivityFigures | null = null;
  readonly recent = new Ring<HistoryEvent>(RECENT_EVENTS);
  /** Hits the remote served, at the call or by a prefetch before it. */
  readonly remoteHits = new Ring<HistoryEvent>(REMOTE_HITS);
  readonly passthroughs = new Map<string, PassthroughGroup>();
  /** Out dirs of calls kache stored or restored, with the time of the newest. */
  readonly outDirs = new Map<string, number>();
  /** Bumped by every event: a view redraws only when something changed. */
  generation = 0;

  /** `since`: ms since the epoch, or null for every event. */
  constructor(private readonly since: number | null) {}

  add(event: HistoryEvent): void {
    if (this.since !== null && event.time < this.since) return;
    this.generation += 1;
    tallyEvent(this.tally, event);
    this.settled = null;
    this.recent.push(event);
    if (event.outcome === "remote hit" || event.outcome === "prefetch hit") this.remoteHits.push(event);
    if (event.outcome === "passthrough") this.addPassthrough(event);
    else if (event.outDir) this.addOutDir(event.outDir, event.time);
  }

  figures(): ActivityFigures {
    this.settled ??= settleFigures(this.tally);
    return this.settled;
  }

  private addPassthrough(event: HistoryEvent): void {
    const reason = event.reason ?? "unknown";
    let group = this.passthroughs.get(reason);
    if (!group) {
      group = { reason, count: 0, last: 0, crates: [] };
      this.passthroughs.set(reason, group);
    }
    group.count += 1;
    group.last = Math.max(group.last, event.time);
    const crate = unitLabel({ crate: event.crate || "rustc", language: event.language });
    group.crates = [crate, ...group.crates.filter((name) => name !== crate)].slice(0, CRATES_PER_REASON);
  }

  private addOutDir(dir: string, time: number): void {
    this.outDirs.delete(dir);
    this.outDirs.set(dir, time);
    if (this.outDirs.size > OUT_DIRS) this.outDirs.delete(this.outDirs.keys().next().value!);
  }
}
