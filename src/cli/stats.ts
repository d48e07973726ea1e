// `kache stats [--since DUR] [--json]`: a one-shot summary of the store and of the builds' events.

import { defineCommand } from "citty";
import { formatBytes, formatDuration, formatLimit } from "../util/size";
import { PASSTHROUGH_REASONS } from "../wrapper/outcomes";
import { writeOut } from "./colour";
import type { ActivityFigures } from "./event-summary";
import { LANGUAGES, SINCE_FLAG, sinceCutoff } from "./history";
import { documentHead, gatherInsight, hasNativeCalls, type Insight, sinceField } from "./insight";
import { formatRatio, formatTime } from "./table";

/** The `stats --json` document (fields documented in the README; kept stable). */
export function statsDocument(insight: Insight) {
  const { events, transfers: _fromEvents, ...activity } = insight.activity;
  return {
    ...documentHead(insight.settings),
    since: sinceField(insight),
    events,
    store: insight.store,
    ...activity,
    languages: insight.languages,
    transfers: insight.transfers,
  };
}

function describeReason(reason: string): string {
  return PASSTHROUGH_REASONS[reason as keyof typeof PASSTHROUGH_REASONS] ?? reason;
}

function storeLines(insight: Insight): string[] {
  const { store } = insight;
  const bound = store.location_bound ? ` (${store.location_bound} location-bound)` : "";
  return [
    `store:        ${formatBytes(store.blob_bytes)} of ${formatLimit(store.limit_bytes)} (${formatRatio(store.used_ratio)}), ${store.entries} entries${bound}`,
    `              ${store.blob_files} blobs; entries total ${formatBytes(store.entry_bytes)}, dedup saved ${formatBytes(store.dedup_saved_bytes)}; index ${formatBytes(store.index_bytes)}`,
  ];
}

function spanLine(insight: Insight): string {
  const { events } = insight.activity;
  if (events.count === 0)
    return insight.since === null
      ? "events:       none yet"
      : `events:       none since ${formatTime(insight.since)}`;
  const from = insight.since === null ? Date.parse(events.first!) : insight.since;
  return `events:       ${events.count} since ${formatTime(from)}`;
}

function activityLines(insight: Insight): string[] {
  const a = insight.activity;
  const rate = a.hit_rate;
  const lines = [
    `hits:         ${a.hits.total} (local ${a.hits.local}, remote ${a.hits.remote}, prefetch ${a.hits.prefetch})`,
    `misses:       ${a.misses}`,
    `hit rate:     ${formatRatio(rate.count)} by count, ${formatRatio(rate.size)} by size, ${formatRatio(rate.time)} by compile time`,
    `time saved:   ${formatDuration(a.time_saved_ms)}`,
    `hardlinks:    ${formatBytes(a.hardlink_saved_bytes)} restored by hardlink or clone instead of a copy`,
    `passthrough:  ${a.passthroughs.total}`,
  ];
  const reasons = Object.entries(a.passthroughs.by_reason).sort((x, y) => y[1] - x[1]);
  for (const [reason, count] of reasons)
    lines.push(`  ${String(count).padStart(10)}  ${reason}: ${describeReason(reason)}`);
  return lines;
}

/** `hits, misses, passed through; hit rate; time saved` of one language, for stats and report. */
export function languageSummary(figures: ActivityFigures): string {
  const rate = figures.hit_rate.count;
  return `${figures.hits.total} hits, ${figures.misses} misses, ${figures.passthroughs.total} passed through; hit rate ${formatRatio(rate)}; time saved ${formatDuration(figures.time_saved_ms)}`;
}

/** A line per language with calls, once C/C++ calls are among them. */
export function languageLines(insight: Insight, pad: boolean): string[] {
  if (!hasNativeCalls(insight)) return [];
  return LANGUAGES.filter((language) => insight.languages[language].events.count > 0).map((language) => {
    const name = `${language === "rust" ? "Rust" : language === "c" ? "C" : "C++"}:`;
    return `${pad ? name.padEnd(14) : `${name} `}${languageSummary(insight.languages[language])}`;
  });
}

function transferLines(insight: Insight): string[] {
  const t = insight.transfers;
  const lines = [
    `remote:       ${t.remote_hits.count} remote hits (${formatBytes(t.remote_hits.bytes)}), ${t.prefetch_hits.count} prefetch hits (${formatBytes(t.prefetch_hits.bytes)}), ${t.uploads_pending} uploads pending`,
  ];
  const daemon = t.daemon;
  lines.push(
    daemon
      ? `daemon:       since ${formatTime(Date.parse(daemon.started_at))}: uploaded ${daemon.uploaded}, downloaded ${daemon.downloaded}, queued ${daemon.queued}`
      : "daemon:       not running",
  );
  return lines;
}

export function statsText(insight: Insight): string {
  return `${[`cache dir:    ${insight.settings.cacheDir}`, ...storeLines(insight), spanLine(insight), ...activityLines(insight), ...languageLines(insight, true), ...transferLines(insight)].join("\n")}\n`;
}

export const statsCommand = defineCommand({
  meta: { name: "stats", description: "Summarise the store, hit rates and time saved" },
  args: {
    since: SINCE_FLAG,
    json: { type: "boolean", description: "print JSON (fields documented in the README)" },
  },
  async run({ args }) {
    const insight = await gatherInsight(sinceCutoff(args.since));
    writeOut(args.json ? `${JSON.stringify(statsDocument(insight), null, 2)}\n` : statsText(insight));
  },
});
