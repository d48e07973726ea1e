// Tab 5, Passthrough: the calls kache did not cache, grouped by why, most frequent first.
import { formatAgo } from "../../cli/table";
import { PASSTHROUGH_REASONS } from "../../wrapper/outcomes";
import type { Activity } from "../activity";
import { type Column, fitColumns, type TabContent, type TabView, tableHeader, tableRow } from "../table-rows";

const ALL_COLUMNS: Column[] = [
  { title: "calls", width: 6, align: "right" },
  { title: "reason", width: 22, flex: true },
  { title: "last", width: 8 },
  { title: "why, and the newest crates", width: 0 },
];

function describe(reason: string): string {
  return PASSTHROUGH_REASONS[reason as keyof typeof PASSTHROUGH_REASONS] ?? reason;
}

export function passthroughTab(activity: Activity, view: TabView): TabContent {
  const { styles, now } = view;
  const columns = fitColumns(ALL_COLUMNS, view.width);
  const groups = [...activity.passthroughs.values()].sort((a, b) => b.count - a.count || b.last - a.last);
  const rows = groups.map((group) =>
    tableRow(columns, [
      String(group.count),
      group.reason,
      formatAgo(group.last, now),
      `${describe(group.reason)} ${styles.dim(`(${group.crates.join(", ")})`)}`,
    ]),
  );
  return {
    header: tableHeader(columns),
    rows,
    empty: "no pass-throughs: every call was cached or looked up",
    note: `${activity.figures().passthroughs.total} calls kache ran the compiler for without caching, by reason`,
  };
}
