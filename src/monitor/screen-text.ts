// Text for a fixed-size screen: visible width (escape sequences take none), and cutting and padding
// a styled line to exactly the terminal's width.
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
