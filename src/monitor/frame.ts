// One screen of the monitor from its state: header, tab bar, the tab's note and table at its scroll
// position (or the keys), and a footer; "too small" below 60x15.

import type { Paint } from "../cli/colour";
import type { HeaderPart } from "./header";
import { textWidth } from "./screen-text";
import { type TabContent, visibleRows } from "./table-rows";
import type { Size } from "./terminal";

export const TAB_NAMES = ["Build", "Projects", "Store", "Transfer", "Passthrough"] as const;
export const MIN_SIZE: Size = { columns: 60, rows: 15 };
const HEADER_ROWS = 4;
/** Header, tab bar, note, table header above the rows; footer below. */
const CHROME_ROWS = HEADER_ROWS + 4;

const KEYS: [string, string][] = [
  ["q, Ctrl-C", "quit"],
  ["Tab, Shift-Tab, 1-5", "switch tabs"],
  ["Up, Down, PgUp, PgDn, Home, End", "scroll"],
  ["f", "filter (Build, Store): type, Enter to keep, Esc to clear"],
  ["c", "clear the Build list (the event log is kept)"],
  ["s", "sort the Store by name, size, hits, age"],
  ["r", "measure the Projects' target dirs again"],
  ["Ctrl-L", "redraw the screen"],
  ["?", "show or hide these keys"],
];

export interface FrameInput {
  size: Size;
  header: HeaderPart[];
  tab: number;
  content: TabContent;
  scroll: number;
  /** The filter being typed, or null. */
  editing: string | null;
  help: boolean;
  styles: Paint;
}

export function bodyHeight(size: Size): number {
  return Math.max(1, size.rows - CHROME_ROWS);
}

function tabBar(tab: number, styles: Paint): string {
  return TAB_NAMES.map((name, index) =>
    index === tab ? styles.inverse(styles.bold(`[${index + 1} ${name}]`)) : ` ${index + 1} ${name} `,
  ).join(" ");
}

function flow(parts: HeaderPart[], width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const part of parts) {
    const joined = line === "" ? part.text : `${line} · ${part.text}`;
    if (line !== "" && (part.breakBefore || textWidth(joined) > width)) {
      lines.push(line);
      line = part.text;
    } else line = joined;
  }
  lines.push(line);
  return lines;
}

/**
 * Exactly HEADER_ROWS lines. Where the groups do not fit on their own lines, the parts flow without
 * breaks; where that does not fit either, the lightest part goes (the newest of equals), then the next.
 */
function flowHeader(parts: HeaderPart[], width: number): string[] {
  let kept = parts;
  let lines = flow(kept, width);
  if (lines.length > HEADER_ROWS) kept = kept.map((part) => ({ ...part, breakBefore: false }));
  for (lines = flow(kept, width); lines.length > HEADER_ROWS && kept.length > 1; lines = flow(kept, width)) {
    const lightest = Math.min(...kept.map((part) => part.weight));
    kept = kept.filter((_, index) => index !== kept.findLastIndex((part) => part.weight === lightest));
  }
  return Array.from({ length: HEADER_ROWS }, (_, index) => lines[index] ?? "");
}

function tooSmall(size: Size): string[] {
  const text = `too small: ${size.columns}x${size.rows} (needs ${MIN_SIZE.columns}x${MIN_SIZE.rows})`;
  const lines = Array.from({ length: size.rows }, () => "");
  lines[Math.floor(size.rows / 2)] =
    " ".repeat(Math.max(0, Math.floor((size.columns - text.length) / 2))) + text;
  return lines;
}

export function renderFrame(input: FrameInput): string[] {
  const { size, styles, content } = input;
  if (size.columns < MIN_SIZE.columns || size.rows < MIN_SIZE.rows) return tooSmall(size);
  const height = bodyHeight(size);
  const note =
    input.editing !== null
      ? `filter: ${input.editing}${styles.inverse(" ")}`
      : styles.dim(content.note ?? "");
  let body: string[];
  let position = "";
  if (input.help) body = KEYS.map(([keys, what]) => `  ${styles.bold(keys.padEnd(34))}${what}`);
  else if (content.rows.length === 0) body = [styles.dim(content.empty)];
  else {
    const shown = visibleRows(content.rows, input.scroll, height);
    body = shown.rows;
    position = `${shown.first + 1}-${shown.first + shown.rows.length} of ${content.rows.length}`;
  }
  const lines = [
    ...flowHeader(input.header, size.columns),
    tabBar(input.tab, styles),
    note,
    styles.bold(input.help ? "keys" : content.header),
    ...body.slice(0, height),
  ];
  while (lines.length < size.rows - 1) lines.push("");
  const footer = "q quit · Tab/1-5 tabs · ↑↓ PgUp/PgDn scroll · f filter · ? keys";
  const gap = Math.max(1, size.columns - footer.length - position.length);
  lines.push(styles.dim(`${footer}${" ".repeat(gap)}${position}`));
  return lines;
}
