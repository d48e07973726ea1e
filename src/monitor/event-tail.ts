// Follows events.jsonl as the wrappers append to it: reads only what was added since the last look,
// keeps a line torn by a writer still mid-write for the next look, and carries on in the new file
// after a rotation (the open file, renamed to events.jsonl.1, is read to its end first).
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { type HistoryEvent, parseEventLine } from "../cli/history";
import { eventLogPaths } from "../wrapper/event-log";

const CHUNK_BYTES = 64 * 1024;

function fileIdentity(stat: { dev: number; ino: number }): string {
  return `${stat.dev}:${stat.ino}`;
}

export class EventTail {
  private fd: number | null = null;
  private identity = "";
  private offset = 0;
  private partial = "";
  private decoder = new StringDecoder("utf8");
  private readonly buffer = Buffer.alloc(CHUNK_BYTES);

  constructor(private readonly cacheDir: string) {}

  /** Every event kache holds now (the rotated file whole, then the current one), oldest first. */
  start(onEvent: (event: HistoryEvent) => void): void {
    const [older] = eventLogPaths(this.cacheDir);
    let fd: number | null = null;
    try {
      fd = openSync(older, "r");
      this.readToEnd(fd, 0, onEvent);
    } catch {
      // no rotated file yet
    } finally {
      if (fd !== null) closeSync(fd);
    }
    this.partial = "";
    this.decoder = new StringDecoder("utf8");
    this.poll(onEvent);
  }

  /** The events appended since the last call. */
  poll(onEvent: (event: HistoryEvent) => void): void {
    if (this.fd !== null) this.offset = this.readToEnd(this.fd, this.offset, onEvent);
    const [, current] = eventLogPaths(this.cacheDir);
    let identity: string;
    try {
      identity = fileIdentity(statSync(current));
    } catch {
      return; // no log yet, or rotated and not yet written again
    }
    if (identity === this.identity) return;
    this.close();
    try {
      this.fd = openSync(current, "r");
    } catch {
      return;
    }
    this.identity = fileIdentity(fstatSync(this.fd));
    this.partial = "";
    this.decoder = new StringDecoder("utf8");
    this.offset = this.readToEnd(this.fd, 0, onEvent);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.identity = "";
  }

  private readToEnd(fd: number, from: number, onEvent: (event: HistoryEvent) => void): number {
    let offset = from;
    for (;;) {
      const read = readSync(fd, this.buffer, 0, CHUNK_BYTES, offset);
      if (read <= 0) return offset;
      offset += read;
      const lines = (this.partial + this.decoder.write(this.buffer.subarray(0, read))).split("\n");
      this.partial = lines.pop() ?? "";
      for (const line of lines) {
        const event = line.trim() === "" ? null : parseEventLine(line);
        if (event) onEvent(event);
      }
    }
  }
}
