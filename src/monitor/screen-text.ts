// Text for a fixed-size screen: visible width (escape sequences take none), cutting and padding a
// styled line to exactly the terminal's width, and the few styles the monitor uses.
import { stringWidth } from "bun";

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape sequences is the point
const ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]/y;

function charWidth(char: string): number {
  return char.charCodeAt(0) < 0x7f ? 1 : stringWidth(char);
}

/** `line` cut or padded with spaces to exactly `width` columns; styles are closed at the end. */
export function fitLine(line: string, width: number): string {
  let out = "";
  let used = 0;
  let styled = false;
  let index = 0;
  while (index < line.length) {
    ESCAPE.lastIndex = index;
    const sequence = ESCAPE.exec(line);
    if (sequence) {
      out += sequence[0];
      styled = true;
      index += sequence[0].length;
      continue;
    }
    const char = String.fromCodePoint(line.codePointAt(index)!);
    const columns = charWidth(char);
    if (used + columns > width) break;
    out += char;
    used += columns;
    index += char.length;
  }
  return `${out}${styled ? "\x1b[0m" : ""}${" ".repeat(Math.max(0, width - used))}`;
}

/** Visible columns of a styled text. */
export function textWidth(text: string): number {
  return stringWidth(text);
}

/** Pads (or cuts) plain text to `width`, on the left for numbers. */
export function pad(text: string, width: number, align: "left" | "right" = "left"): string {
  const cut = textWidth(text) > width ? fitLine(text, width) : text;
  const room = Math.max(0, width - textWidth(cut));
  return align === "left" ? cut + " ".repeat(room) : " ".repeat(room) + cut;
}

export interface Styles {
  bold(text: string): string;
  dim(text: string): string;
  inverse(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

function sgr(open: number, close: number): (text: string) => string {
  return (text) => `\x1b[${open}m${text}\x1b[${close}m`;
}

const COLOURED: Styles = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  inverse: sgr(7, 27),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
};

const PLAIN: Styles = {
  bold: String,
  dim: String,
  inverse: String,
  red: String,
  green: String,
  yellow: String,
  cyan: String,
};

/** NO_COLOR (no-color.org) turns every style off, inverse video included: the screen stays legible without. */
export function stylesFor(env: Record<string, string | undefined> = process.env): Styles {
  return env.NO_COLOR || env.TERM === "dumb" ? PLAIN : COLOURED;
}
