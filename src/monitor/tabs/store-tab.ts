// Tab 3, Store: the index's entries, sorted by name, size, hits or age (`s` cycles), filtered by crate.
import { formatAgo } from "../../cli/table";
import { formatBytes, formatDuration } from "../../util/size";
import type { StoreSort, StoreView } from "../store-view";
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
  { title: "crate", width: 32, flex: true },
  { title: "key", width: 16 },
  { title: "size", width: 9, align: "right" },
  { title: "hits", width: 6, align: "right" },
  { title: "used", width: 8, align: "right" },
  { title: "compile", width: 8, align: "right" },
  { title: "", width: 0 },
];

export function storeTab(store: StoreView, sort: StoreSort, filter: string, view: TabView): TabContent {
  const { styles, now } = view;
  const columns = fitColumns(ALL_COLUMNS, view.width);
  const rows = lazyRows(store.sortedRows(sort, filter), (row) =>
    tableRow(columns, [
      row.crate,
      row.key.slice(0, 16),
      formatBytes(row.size),
      String(row.hits),
      formatAgo(row.lastUsed, now),
      formatDuration(row.compileMs),
      row.bound ? styles.dim("this location only") : "",
    ]),
  );
  return {
    header: tableHeader(columns),
    rows,
    empty: filter ? `no entries match "${filter}"` : "the store is empty",
    note: `sorted by ${sort} (s to change)${filter ? ` · filter "${filter}"` : ""} · ${rows.length} entries`,
  };
}
