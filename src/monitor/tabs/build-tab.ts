// Tab 1, Build: the live stream of wrapper calls, newest first: outcome, crate, time, size, saved.

import type { Paint } from "../../cli/colour";
import { unitLabel } from "../../cli/event-summary";
import type { HistoryEvent } from "../../cli/history";
import { formatBytes, formatDuration } from "../../util/size";
import type { Activity } from "../activity";
import {
  type Column,
  fitColumns,
  lazyRows,
  type TabContent,
  type TabView,
  tableHeader,
  tableRow,
} from "../table-rows";

const ALL_COLUMNS: Column[] = [
  { title: "time", width: 8 },
  { title: "outcome", width: 12 },
  { title: "crate", width: 32, flex: true },
  { title: "took", width: 8, align: "right" },
  { title: "size", width: 9, align: "right" },
  { title: "saved", width: 8, align: "right" },
  { title: "detail", width: 0 },
];

function clock(time: number): string {
  const date = new Date(time);
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((n) => String(n).padStart(2, "0"))
    .join(":");
}

function outcomeText(event: HistoryEvent, styles: Paint): string {
  if (event.outcome.endsWith("hit")) return styles.green(event.outcome);
  if (event.outcome === "miss") return styles.yellow(event.outcome);
  return styles.dim(event.outcome);
}

function matches(event: HistoryEvent, filter: string): boolean {
  if (filter === "") return true;
  const needle = filter.toLowerCase();
  // `cc` or `c++` finds the C/C++ calls, as the list labels them.
  const label = unitLabel({ crate: event.crate, language: event.language }).toLowerCase();
  return label.includes(needle) || event.outcome.includes(needle);
}

export function buildTab(activity: Activity, filter: string, view: TabView): TabContent {
  const { styles } = view;
  const columns = fitColumns(ALL_COLUMNS, view.width);
  const events = activity.recent.newestFirst().filter((event) => matches(event, filter));
  const rows = lazyRows(events, (event) => {
    const hit = event.outcome.endsWith("hit");
    const detail = event.outcome === "passthrough" ? (event.reason ?? "") : (event.key?.slice(0, 16) ?? "");
    return tableRow(columns, [
      clock(event.time),
      outcomeText(event, styles),
      unitLabel({ crate: event.crate || "rustc", language: event.language }),
      formatDuration(event.elapsedMs),
      event.outcome === "passthrough" ? "" : formatBytes(event.size),
      hit ? formatDuration(Math.max(0, event.compileMs - event.elapsedMs)) : "",
      styles.dim(detail),
    ]);
  });
  return {
    header: tableHeader(columns),
    rows,
    empty: filter
      ? `no calls match "${filter}"`
      : "no calls yet: run a cargo build with kache as its wrapper",
    note: `${rows.length} calls, newest first${filter ? ` · filter "${filter}" (f to change)` : ""} · c clears`,
  };
}
