// Tables in the monitor's tabs: columns of fixed width (the last one takes what is left), and the
// window of rows a tab shows at its scroll position.
import type { Paint } from "../cli/colour";
import { pad } from "./screen-text";

export interface Column {
  title: string;
  /** The most it takes (for the flexible column) or what it always takes. */
  width: number;
  align?: "left" | "right";
  /** Gives way to a narrow terminal, down to `FLEX_MIN` columns. */
  flex?: boolean;
}

const GAP = 2;
const FLEX_MIN = 12;
/** Room the last (unpadded) column keeps when the flexible one shrinks. */
const LAST_MIN = 8;

/** The columns at a terminal width: the flexible one shrinks first, so the figures stay in view. */
export function fitColumns(columns: Column[], width: number): Column[] {
  const fixed = columns.slice(0, -1).reduce((sum, column) => sum + (column.flex ? 0 : column.width) + GAP, 0);
  const room = width - fixed - LAST_MIN;
  return columns.map((column) =>
    column.flex ? { ...column, width: Math.max(FLEX_MIN, Math.min(column.width, room)) } : column,
  );
}

/** One row: every cell padded to its column, two spaces apart; the last column is not padded. */
export function tableRow(columns: Column[], cells: string[]): string {
  return columns
    .map((column, index) =>
      index === columns.length - 1
        ? (cells[index] ?? "")
        : pad(cells[index] ?? "", column.width, column.align),
    )
    .join("  ");
}

export function tableHeader(columns: Column[]): string {
  return tableRow(
    columns,
    columns.map((column) => column.title),
  );
}

/** Rows a tab can show; an array is one, and `lazyRows` formats only the rows on screen. */
export interface RowList {
  readonly length: number;
  slice(start: number, end: number): string[];
}

/** `items` as rows, each formatted only when it is shown: a list of thousands costs a screenful. */
export function lazyRows<T>(items: T[], format: (item: T) => string): RowList {
  return { length: items.length, slice: (start, end) => items.slice(start, end).map(format) };
}

/** A tab's content: a title row above the rows, and a line saying what is shown when there are none. */
export interface TabContent {
  header: string;
  rows: RowList;
  empty: string;
  /** A line above the table (a filter in use, a scan under way). */
  note?: string;
}

/** The rows visible at `scroll` in `height` lines; the scroll is clamped so the last row can reach the bottom. */
export function visibleRows(
  rows: RowList,
  scroll: number,
  height: number,
): { rows: string[]; first: number } {
  const first = Math.max(0, Math.min(scroll, rows.length - height));
  return { rows: rows.slice(first, first + height), first };
}

/** What every tab draws with: the styles, the time of the frame, the terminal's width. */
export interface TabView {
  styles: Paint;
  now: number;
  width: number;
}
