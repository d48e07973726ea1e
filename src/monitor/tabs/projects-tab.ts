// Tab 2, Projects: the target dirs kache restored into, with their size and how much of it the store
// shares (hardlinks of its blobs free nothing when the dir goes; copies the store also holds).
import { formatAgo } from "../../cli/table";
import { formatBytes } from "../../util/size";
import type { Project } from "../projects";
import { type Column, fitColumns, type TabContent, type TabView, tableHeader, tableRow } from "../table-rows";

const ALL_COLUMNS: Column[] = [
  { title: "size", width: 9, align: "right" },
  { title: "in store", width: 9, align: "right" },
  { title: "linked", width: 9, align: "right" },
  { title: "used", width: 8, align: "right" },
  { title: "target dir", width: 0 },
];

function share(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)}%` : "-";
}

export function projectsTab(projects: Project[], scanning: boolean, view: TabView): TabContent {
  const { styles, now } = view;
  const columns = fitColumns(ALL_COLUMNS, view.width);
  const rows = projects.map((project) => {
    const measured = project.measured;
    return tableRow(columns, [
      measured ? formatBytes(measured.bytes) : styles.dim("?"),
      measured ? share(measured.storedBytes, measured.bytes) : "",
      measured ? formatBytes(measured.linkedBytes) : "",
      formatAgo(project.lastUsed, now),
      project.path,
    ]);
  });
  return {
    header: tableHeader(columns),
    rows,
    empty: "no target dirs yet: kache lists the ones it stores from and restores into",
    note: scanning ? "measuring target dirs…" : "r to measure again",
  };
}
