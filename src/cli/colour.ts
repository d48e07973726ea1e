// The CLI's one colour decision per output stream (NO_COLOR, FORCE_COLOR, TERM=dumb, a terminal),
// and the two writers every piece of CLI text goes through so that decision holds.
import { stripVTControlCharacters } from "node:util";

interface Stream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** no-color.org: any non-empty NO_COLOR turns colour off; FORCE_COLOR (not "0") turns it on. */
export function wantsColour(
  stream: { isTTY?: boolean },
  env: Record<string, string | undefined> = process.env,
) {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== "") return force !== "0" && force !== "false";
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

// Decided once at start-up: the streams and the environment do not change while a command runs.
const colourOn = new Map<Stream, boolean>([
  [process.stdout, wantsColour(process.stdout)],
  [process.stderr, wantsColour(process.stderr)],
]);

function colourFor(stream: Stream): boolean {
  return colourOn.get(stream) ?? wantsColour(stream);
}

/**
 * Writes text to a stream, without escape sequences when that stream gets no colour. citty colours
 * its usage and error texts from the environment alone (not from the stream), so its text is
 * filtered here rather than trusted.
 */
function writeTo(stream: Stream, text: string): void {
  stream.write(colourFor(stream) ? text : stripVTControlCharacters(text));
}

export function writeOut(text: string): void {
  writeTo(process.stdout, text);
}

export function writeErr(text: string): void {
  writeTo(process.stderr, text);
}

export interface Paint {
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

const COLOURED: Paint = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  inverse: sgr(7, 27),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
};
const PLAIN: Paint = {
  bold: String,
  dim: String,
  inverse: String,
  red: String,
  green: String,
  yellow: String,
  cyan: String,
};

/** Colours for text meant for `stream` (process.stdout or process.stderr): plain when it gets none. */
export function paintFor(stream: Stream): Paint {
  return colourFor(stream) ? COLOURED : PLAIN;
}
