// Tables for the insight commands: aligned plain text (a bold header only on a colour terminal) and
// markdown, plus the few cell formats they share.
export interface Column {
  header: string;
  /** Numbers read best right-aligned. */
  align?: "left" | "right";
}

/** Colour only on a terminal, and never with NO_COLOR set to anything (no-color.org). */
export function colourAllowed(stream: { isTTY?: boolean } = process.stdout): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR;
}

function pad(text: string, width: number, align: Column["align"]): string {
  return align === "right" ? text.padStart(width) : text.padEnd(width);
}

/** Columns two spaces apart, no trailing blanks; one line per row, newline-terminated. */
export function textTable(columns: Column[], rows: string[][], colour = colourAllowed()): string {
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => pad(cell, widths[i]!, columns[i]!.align))
      .join("  ")
      .trimEnd();
  const header = line(columns.map((column) => column.header));
  return `${[colour ? `\x1b[1m${header}\x1b[0m` : header, ...rows.map(line)].join("\n")}\n`;
}

function markdownCell(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** A GitHub-flavoured markdown table: header row, `|---|` separator, one row per line. */
export function markdownTable(columns: Column[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(markdownCell).join(" | ")} |`;
  const separator = `|${columns.map((column) => (column.align === "right" ? "---:" : "---")).join("|")}|`;
  return `${[line(columns.map((column) => column.header)), separator, ...rows.map(line)].join("\n")}\n`;
}

/** 0.8312 -> "83.1%"; null (nothing to divide) -> "-". */
export function formatRatio(ratio: number | null): string {
  return ratio === null ? "-" : `${(ratio * 100).toFixed(1)}%`;
}

/** How long ago, in the largest unit that fits: "12s ago", "5m ago", "3h ago", "2d ago". */
export function formatAgo(time: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - time) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** A time as the local date and time to the second, "2025-03-01 14:02:03". */
export function formatTime(time: number): string {
  const date = new Date(time);
  const two = (value: number) => String(value).padStart(2, "0");
  return (
    `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`
  );
}
