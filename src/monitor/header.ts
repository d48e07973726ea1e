// The monitor's header: versions and the daemon, the store against its limit, hit rates and
// savings, transfers, and how the wrapper is set up.

import type { Paint } from "../cli/colour";
import type { ActivityFigures } from "../cli/event-summary";
import type { StoreFigures } from "../cli/store-summary";
import { formatRatio, formatTime } from "../cli/table";
import type { DaemonStatus } from "../ipc/protocol";
import { formatBytes, formatDuration, formatLimit } from "../util/size";
import { VERSION } from "../version";
import type { WrapperState } from "./wrapper-line";

export interface HeaderFacts {
  cacheDir: string;
  ownEpoch: number;
  daemon: DaemonStatus | null;
  daemonAsked: boolean;
  activity: ActivityFigures;
  store: StoreFigures | null;
  wrapper: WrapperState;
  transfers: { uploading: number; downloading: number; queued: number };
  /** A problem reading the cache (an index from a newer kache, say), shown instead of hiding it. */
  problem: string | null;
}

/** A build epoch (its binary's mtime) as the time it was built, to the second. */
function built(epoch: number): string {
  return `built ${formatTime(epoch).slice(5)}`;
}

function daemonPart(facts: HeaderFacts, styles: Paint): string {
  const daemon = facts.daemon;
  if (!daemon) return facts.daemonAsked ? styles.yellow("daemon: offline") : "daemon: asking";
  const up = formatDuration(daemon.uptimeMs);
  let text = `daemon ${daemon.version} (${built(daemon.epoch)}, pid ${daemon.pid}, up ${up})`;
  if (daemon.version !== VERSION || daemon.epoch !== facts.ownEpoch)
    text += styles.yellow(
      daemon.epoch < facts.ownEpoch ? " older build: `kache daemon restart`" : " differs from this kache",
    );
  return text;
}

function storeParts(store: StoreFigures | null): HeaderPart[] {
  if (!store) return [{ text: "store: reading", weight: 3, breakBefore: true }];
  const used = `${formatBytes(store.blob_bytes)} / ${formatLimit(store.limit_bytes)} (${formatRatio(store.used_ratio)})`;
  return [
    { text: `store ${used}`, weight: 3, breakBefore: true },
    { text: `${store.entries} entries`, weight: 2 },
    { text: `${store.blob_files} blobs`, weight: 1 },
    { text: `dedup saved ${formatBytes(store.dedup_saved_bytes)}`, weight: 1 },
  ];
}

/** A piece of the header, and how much it matters: a narrow terminal drops the least first. */
export interface HeaderPart {
  text: string;
  weight: 1 | 2 | 3;
  /** Starts a new line when the width allows it. */
  breakBefore?: boolean;
}

/** The header's facts as short parts, in reading order; the frame flows them into its lines. */
export function headerParts(facts: HeaderFacts, styles: Paint): HeaderPart[] {
  const own = `${styles.bold("kache")} ${VERSION} (${built(facts.ownEpoch)})`;
  const wrapper = facts.wrapper.ok ? facts.wrapper.text : styles.yellow(facts.wrapper.text);
  const { hits, misses, passthroughs } = facts.activity;
  const { uploading, downloading, queued } = facts.transfers;
  const rate = facts.activity.hit_rate;
  return [
    { text: own, weight: 3 },
    { text: daemonPart(facts, styles), weight: 3 },
    { text: `cache ${facts.cacheDir}`, weight: 1 },
    ...(facts.problem
      ? [{ text: styles.red(facts.problem), weight: 3 as const, breakBefore: true }]
      : storeParts(facts.store)),
    {
      text: `hit rate ${formatRatio(rate.count)} count, ${formatRatio(rate.size)} size, ${formatRatio(rate.time)} time`,
      weight: 3,
      breakBefore: true,
    },
    { text: `saved ${formatDuration(facts.activity.time_saved_ms)}`, weight: 2 },
    { text: `hardlinks ${formatBytes(facts.activity.hardlink_saved_bytes)}`, weight: 1 },
    {
      text: `${hits.total} hits, ${misses} misses, ${passthroughs.total} passthrough`,
      weight: 2,
      breakBefore: true,
    },
    { text: `transfers ↑${uploading} ↓${downloading}, ${queued} queued`, weight: 2 },
    { text: wrapper, weight: 3 },
  ];
}
