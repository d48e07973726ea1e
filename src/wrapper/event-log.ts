// events.jsonl: one line per wrapped call, appended by hundreds of processes at once, rotated at a
// size cap (the previous file stays as events.jsonl.1), and read back oldest line first.
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { acquireKeyLockSync } from "../store/key-lock";

export const EVENTS_FILE = "events.jsonl";

/** The rotated file, then the current one: every event kache still holds, oldest first. */
export function eventLogPaths(cacheDir: string): [older: string, current: string] {
  const current = join(cacheDir, EVENTS_FILE);
  return [`${current}.1`, current];
}

/**
 * Moves a full log aside. Many writers may find it full at once: under a lock, only the first that
 * still finds it full renames it, so a rotation never replaces events.jsonl.1 with a nearly empty file.
 */
function rotate(cacheDir: string, path: string, incoming: number, capBytes: number): void {
  const lock = acquireKeyLockSync(cacheDir, "events-rotate", 2000);
  try {
    const size = statSync(path).size;
    if (size > 0 && size + incoming > capBytes) renameSync(path, `${path}.1`);
  } catch {
    // rotated by another writer meanwhile
  } finally {
    lock.release();
  }
}

/**
 * Appends one line with a single write on an O_APPEND file, so concurrent writers never interleave;
 * the size check costs one fstat. `capBytes` 0 never rotates.
 */
export function appendEventLine(cacheDir: string, line: string, capBytes: number): void {
  const path = join(cacheDir, EVENTS_FILE);
  const bytes = Buffer.from(line);
  let fd = openSync(path, "a");
  try {
    const size = capBytes > 0 ? fstatSync(fd).size : 0;
    if (size > 0 && size + bytes.length > capBytes) {
      closeSync(fd);
      fd = -1;
      rotate(cacheDir, path, bytes.length, capBytes);
      fd = openSync(path, "a");
    }
    writeSync(fd, bytes);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Every recorded event line, oldest first (the rotated file, then the current one). */
export function readEventLines(cacheDir: string): string[] {
  const lines: string[] = [];
  for (const path of eventLogPaths(cacheDir)) {
    if (!existsSync(path)) continue;
    try {
      for (const line of readFileSync(path, "utf8").split("\n")) if (line.trim() !== "") lines.push(line);
    } catch {
      // rotated away between the check and the read: its lines are in the other file
    }
  }
  return lines;
}
