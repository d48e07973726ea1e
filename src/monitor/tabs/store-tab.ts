// Tab 3, Store: the index's entries, sorted by name, size, hits or age (`s` cycles), filtered by crate.
import { formatAgo } from "../../cli/table";
import { formatBytes, formatDuration } from "../../util/size";
import type { StoreRow, StoreView } from "../store-view";
import {
  type Column,
  fitColumns,
  lazyRows,
  type TabContent,
  type TabView,
  tableHeader,
  tableRow,
} from "../table-rows";

export const STORE_SORTS = ["name", "size", "hits", "age"] as const;
export type StoreSort = (typeof STORE_SORTS)[number];

const ALL_COLUMNS: Column[] = [
  { title: "crate", width: 32, flex: true },
  { title: "key", width: 16 },
  { title: "size", width: 9, align: "right" },
  { title: "hits", width: 6, align: "right" },
  { title: "used", width: 8, align: "right" },
  { title: "compile", width: 8, align: "right" },
  { title: "", width: 0 },
];

const ORDER: Record<StoreSort, (a: StoreRow, b: StoreRow) => number> = {
  name: (a, b) => a.crate.localeCompare(b.crate) || b.lastUsed - a.lastUsed,
  size: (a, b) => b.size - a.size,
  hits: (a, b) => b.hits - a.hits || b.lastUsed - a.lastUsed,
  // Oldest use first: what gc would take next.
  age: (a, b) => a.lastUsed - b.lastUsed,
};

/** The last order worked out: the Store tab redraws every second, the index changes far less often. */
let sorted: { generation: number; sort: StoreSort; filter: string; rows: StoreRow[] } | null = null;

function sortedRows(store: StoreView, sort: StoreSort, filter: string): StoreRow[] {
  if (sorted?.generation === store.generation && sorted.sort === sort && sorted.filter === filter)
    return sorted.rows;
  const needle = filter.toLowerCase();
  const rows = store.rows
    .filter((row) => needle === "" || row.crate.toLowerCase().includes(needle))
    .sort(ORDER[sort]);
  sorted = { generation: store.generation, sort, filter, rows };
  return rows;
}

export function storeTab(store: StoreView, sort: StoreSort, filter: string, view: TabView): TabContent {
  const { styles, now } = view;
  const columns = fitColumns(ALL_COLUMNS, view.width);
  const rows = lazyRows(sortedRows(store, sort, filter), (row) =>
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
