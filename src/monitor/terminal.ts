// The full-screen terminal: the alternate screen, raw keys, a frame drawn by rewriting only the lines
// that changed (inside synchronized-output marks, so no flicker), and the terminal given back as it
// was however the monitor ends: q, Ctrl-C, SIGTERM, SIGHUP or an uncaught error.
import { writeSync } from "node:fs";
import { describeError } from "../util/errors";
import { fitLine } from "./screen-text";

const ENTER = "\x1b[?1049h\x1b[?25l\x1b[2J";
const LEAVE = "\x1b[0m\x1b[?2026l\x1b[?25h\x1b[?1049l";
const BEGIN_FRAME = "\x1b[?2026h";
const END_FRAME = "\x1b[?2026l";

export interface Size {
  columns: number;
  rows: number;
}

export class Terminal {
  private shown: string[] = [];
  private restored = false;

  constructor(
    private readonly input: NodeJS.ReadStream = process.stdin,
    private readonly output: NodeJS.WriteStream = process.stdout,
  ) {}

  size(): Size {
    return { columns: this.output.columns || 80, rows: this.output.rows || 24 };
  }

  /**
   * Takes over the screen and the keyboard; every way out of the process gives them back. SIGTERM,
   * SIGINT and SIGHUP call `onSignal` (a clean quit); an uncaught error restores, says what it was
   * and exits 1.
   */
  enter(onKeys: (text: string) => void, onResize: () => void, onSignal: () => void): void {
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, onSignal);
    const crash = (error: unknown) => {
      this.restore();
      process.stderr.write(`kache: error: the monitor stopped: ${describeError(error)}\n`);
      process.exit(1);
    };
    process.on("uncaughtException", crash);
    process.on("unhandledRejection", crash);
    this.output.write(ENTER);
    this.input.setRawMode?.(true);
    this.input.setEncoding("utf8");
    this.input.on("data", onKeys);
    this.input.resume();
    this.output.on("resize", () => {
      this.shown = [];
      onResize();
    });
    process.on("exit", () => this.restore());
  }

  /** Draws `lines` (one per row), writing only the rows that differ from what the screen shows. */
  draw(lines: string[]): void {
    const { columns, rows } = this.size();
    let out = "";
    for (let row = 0; row < rows; row++) {
      const line = fitLine(lines[row] ?? "", columns);
      if (this.shown[row] === line) continue;
      this.shown[row] = line;
      out += `\x1b[${row + 1};1H${line}`;
    }
    this.shown.length = rows;
    if (out !== "") this.output.write(`${BEGIN_FRAME}${out}${END_FRAME}`);
  }

  /** Forgets what the screen shows, so the next frame is drawn whole (after a resize or Ctrl-L). */
  redrawAll(): void {
    this.shown = [];
    this.output.write("\x1b[2J");
  }

  /** Back to the normal screen, cursor shown, keys cooked; safe to call more than once. */
  restore(): void {
    if (this.restored) return;
    this.restored = true;
    try {
      this.input.setRawMode?.(false);
    } catch {
      // the terminal went away (ssh dropped): nothing to give back
    }
    this.input.pause();
    // Synchronously: this also runs in the process's exit handler, where a queued write is lost.
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        writeSync((this.output as { fd?: number }).fd ?? 1, LEAVE);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== "EAGAIN") return; // the terminal went away
      }
    }
  }
}
