// `kache report [--format text|json|markdown|github] [--since DUR] [--output PATH]`: a build report
// (per-crate hits and misses, time saved, slowest misses, transfers, store), e.g. for a CI job summary.

import { appendFileSync } from "node:fs";
import { defineCommand } from "citty";
import { atomicWrite } from "../util/atomic-write";
import { describeError, KacheError } from "../util/errors";
import { formatBytes, formatDuration, formatLimit } from "../util/size";
import { writeErr, writeOut } from "./colour";
import { crateFigures, slowestMisses, unitLabel } from "./event-summary";
import { SINCE_FLAG, sinceCutoff } from "./history";
import { gatherInsight, type Insight } from "./insight";
import { type ReportModel, type ReportSection, renderMarkdown, renderText } from "./report-render";
import { languageLines, statsDocument } from "./stats";
import { colourAllowed, formatRatio, formatTime } from "./table";

export const REPORT_FORMATS = ["text", "json", "markdown", "github"] as const;
type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Per-crate rows a markdown report prints; the JSON carries them all. */
const MARKDOWN_CRATES = 50;

/** The `report --format json` document: the stats document plus per-crate figures and the slowest misses. */
export function reportDocument(insight: Insight) {
  return {
    ...statsDocument(insight),
    crates: crateFigures(insight.events),
    slowest_misses: slowestMisses(insight.events),
  };
}

function summarySection(insight: Insight): ReportSection {
  const a = insight.activity;
  const span = insight.since === null ? "all recorded events" : `events since ${formatTime(insight.since)}`;
  return {
    title: "Summary",
    lines: [
      `${a.events.count} compiler calls (${span}): ${a.hits.total} hits, ${a.misses} misses, ${a.passthroughs.total} passed through`,
      `hit rate ${formatRatio(a.hit_rate.count)} by count, ${formatRatio(a.hit_rate.size)} by size, ${formatRatio(a.hit_rate.time)} by compile time`,
      `time saved ${formatDuration(a.time_saved_ms)}; ${formatBytes(a.hardlink_saved_bytes)} restored by hardlink or clone`,
      ...languageLines(insight, false),
    ],
  };
}

function crateSection(insight: Insight): ReportSection {
  const crates = crateFigures(insight.events);
  return {
    title: `Crates (${crates.length})`,
    lines: crates.length ? [] : ["no compiler calls recorded"],
    collapsible: true,
    table: {
      columns: [
        { header: "crate" },
        { header: "hits", align: "right" },
        { header: "misses", align: "right" },
        { header: "passed through", align: "right" },
        { header: "hit rate", align: "right" },
        { header: "time saved", align: "right" },
        { header: "miss compile time", align: "right" },
      ],
      rows: crates.map((crate) => [
        unitLabel(crate),
        String(crate.hits),
        String(crate.misses),
        String(crate.passthroughs),
        formatRatio(crate.hit_rate),
        formatDuration(crate.time_saved_ms),
        formatDuration(crate.miss_compile_ms),
      ]),
      markdownLimit: MARKDOWN_CRATES,
    },
  };
}

function slowSection(insight: Insight): ReportSection {
  const misses = slowestMisses(insight.events);
  return {
    title: "Slowest misses",
    lines: misses.length ? [] : ["no misses"],
    table: {
      columns: [
        { header: "crate" },
        { header: "compile time", align: "right" },
        { header: "size", align: "right" },
        { header: "at" },
      ],
      rows: misses.map((miss) => [
        unitLabel(miss),
        formatDuration(miss.compile_ms),
        formatBytes(miss.size),
        formatTime(Date.parse(miss.time)),
      ]),
    },
  };
}

function transferSection(insight: Insight): ReportSection {
  const t = insight.transfers;
  const lines = [
    `${t.remote_hits.count} remote hits (${formatBytes(t.remote_hits.bytes)}), ${t.prefetch_hits.count} prefetch hits (${formatBytes(t.prefetch_hits.bytes)})`,
    `${t.uploads_pending} uploads pending`,
  ];
  if (t.daemon)
    lines.push(
      `daemon since ${formatTime(Date.parse(t.daemon.started_at))}: uploaded ${t.daemon.uploaded}, downloaded ${t.daemon.downloaded}, queued ${t.daemon.queued}`,
    );
  else lines.push("daemon not running");
  return { title: "Transfers", lines };
}

function storeSection(insight: Insight): ReportSection {
  const s = insight.store;
  return {
    title: "Store",
    lines: [
      `${s.entries} entries, ${formatBytes(s.blob_bytes)} of ${formatLimit(s.limit_bytes)} (${formatRatio(s.used_ratio)})`,
      `dedup saved ${formatBytes(s.dedup_saved_bytes)} (entries total ${formatBytes(s.entry_bytes)})`,
    ],
  };
}

export function reportModel(insight: Insight): ReportModel {
  return {
    title: "kache build report",
    sections: [
      summarySection(insight),
      crateSection(insight),
      slowSection(insight),
      transferSection(insight),
      storeSection(insight),
    ],
  };
}

function reportFormat(value: string | undefined): ReportFormat {
  if (value === undefined) return "text";
  if ((REPORT_FORMATS as readonly string[]).includes(value)) return value as ReportFormat;
  throw new KacheError(`--format: unknown format "${value}"`, `use one of ${REPORT_FORMATS.join(", ")}`, 2);
}

function render(insight: Insight, format: ReportFormat, toTerminal: boolean): string {
  if (format === "json") return `${JSON.stringify(reportDocument(insight), null, 2)}\n`;
  if (format === "text") return renderText(reportModel(insight), toTerminal && colourAllowed());
  return renderMarkdown(reportModel(insight), format === "github");
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such directory",
  EACCES: "permission denied",
  EROFS: "read-only filesystem",
  ENOSPC: "no space left on the disk",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
};

function errnoText(code: string): string {
  return ERRNO_TEXT[code] ?? code;
}

function writeTo(path: string, text: string, append: boolean): void {
  try {
    if (append) appendFileSync(path, text);
    else atomicWrite(path, text);
  } catch (error) {
    // The error names the temp file beside `path`; the code says what went wrong.
    const code = (error as NodeJS.ErrnoException).code;
    throw new KacheError(
      `cannot write the report to ${path}: ${code ? errnoText(code) : describeError(error)}`,
      "check that its directory exists and is writable",
    );
  }
}

export const reportCommand = defineCommand({
  meta: {
    name: "report",
    description: "Build report: per-crate hits and misses, time saved, transfers, store",
  },
  args: {
    format: { type: "string", description: `${REPORT_FORMATS.join(", ")} (default text)` },
    since: SINCE_FLAG,
    output: { type: "string", description: "write to this file (atomically) instead of stdout" },
  },
  async run({ args }) {
    const format = reportFormat(args.format);
    const insight = await gatherInsight(sinceCutoff(args.since));
    const summary = process.env.GITHUB_STEP_SUMMARY;
    if (args.output) writeTo(args.output, render(insight, format, false), false);
    else if (format === "github" && summary) {
      // A job summary collects every step's markdown: add ours, never replace the others'.
      writeTo(summary, `\n${render(insight, format, false)}`, true);
      writeErr(`kache: report appended to $GITHUB_STEP_SUMMARY (${summary})\n`);
    } else writeOut(render(insight, format, true));
  },
});
