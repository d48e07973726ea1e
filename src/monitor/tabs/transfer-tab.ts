// Tab 4, Transfer: the daemon's recent uploads and downloads with sizes and rates, what is moving
// now and the upload queue; with no daemon, the remote hits the event log records.

import type { Paint } from "../../cli/colour";
import type { HistoryEvent } from "../../cli/history";
import { formatAgo } from "../../cli/table";
import type { TransferRecord } from "../../ipc/protocol";
import { formatBytes, formatDuration } from "../../util/size";
import { type Column, fitColumns, type TabContent, type TabView, tableHeader, tableRow } from "../table-rows";
import type { TransferFacts } from "../transfer-view";

const ALL_COLUMNS: Column[] = [
  { title: "when", width: 8, align: "right" },
  { title: "dir", width: 4 },
  { title: "crate", width: 32, flex: true },
  { title: "size", width: 9, align: "right" },
  { title: "took", width: 8, align: "right" },
  { title: "rate", width: 10, align: "right" },
  { title: "", width: 0 },
];

function rate(bytes: number, ms: number): string {
  return ms > 0 ? `${formatBytes(Math.round((bytes / ms) * 1000))}/s` : "";
}

function recordRow(columns: Column[], record: TransferRecord, styles: Paint, now: number): string {
  return tableRow(columns, [
    formatAgo(record.at, now),
    record.direction === "upload" ? "↑" : "↓",
    record.crate,
    formatBytes(record.bytes),
    formatDuration(record.ms),
    rate(record.bytes, record.ms),
    record.ok
      ? styles.dim(`${record.cause} ${record.key.slice(0, 16)}`)
      : styles.red(record.error ?? "failed"),
  ]);
}

function hitRow(columns: Column[], event: HistoryEvent, styles: Paint, now: number): string {
  return tableRow(columns, [
    formatAgo(event.time, now),
    "↓",
    event.crate,
    formatBytes(event.size),
    "",
    "",
    styles.dim(event.outcome),
  ]);
}

export function transferTab(facts: TransferFacts, remoteHits: HistoryEvent[], view: TabView): TabContent {
  const { styles, now } = view;
  const columns = fitColumns(ALL_COLUMNS, view.width);
  if (!facts.daemon)
    return {
      header: tableHeader(columns),
      rows: remoteHits.map((event) => hitRow(columns, event, styles, now)),
      empty: "no remote hits recorded",
      note: `daemon offline: remote hits from the event log · ${facts.queued} uploads queued on disk`,
    };
  const moving = facts.daemon.inFlight.map((item) =>
    tableRow(columns, [
      "now",
      item.direction === "upload" ? "↑" : "↓",
      item.crate,
      item.bytes > 0 ? formatBytes(item.bytes) : "",
      formatDuration(now - item.startedAt),
      rate(item.bytes, now - item.startedAt),
      styles.cyan(`in flight (${item.cause})`),
    ]),
  );
  return {
    header: tableHeader(columns),
    rows: [...moving, ...facts.daemon.recent.map((record) => recordRow(columns, record, styles, now))],
    empty: "no transfers since the daemon started",
    note: `${facts.daemon.inFlight.length} in flight · ${facts.queued} uploads queued · uploaded ${facts.daemon.uploadsDone} · downloaded ${facts.daemon.downloadsDone} since the daemon started`,
  };
}
