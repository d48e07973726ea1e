// The daemon's log file: timestamped lines, size-based rotation, and `kache daemon log`'s tail-and-follow.
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { unlinkQuietly } from "../util/atomic-write";

export interface DaemonLog {
  /** Appends `<ISO time> <line>` (callers start the line with its level); each line of a multi-line message gets its own time. */
  write(line: string): void;
  close(): void;
}

export interface DaemonLogOptions {
  maxBytes?: number;
  /** How many rotated files (daemon.log.1 ... daemon.log.<keep>) to keep. */
  keep?: number;
}

export function openDaemonLog(path: string, opts: DaemonLogOptions = {}): DaemonLog {
  const maxBytes = opts.maxBytes ?? 5 * 1024 * 1024;
  const keep = opts.keep ?? 3;
  mkdirSync(dirname(path), { recursive: true });
  let fd: number | null = openSync(path, "a", 0o600);

  const rotate = () => {
    if (fd !== null) closeSync(fd);
    fd = null;
    try {
      if (keep <= 0) unlinkQuietly(path);
      for (let index = keep - 1; index >= 1; index--) {
        if (existsSync(`${path}.${index}`)) renameSync(`${path}.${index}`, `${path}.${index + 1}`);
      }
      if (keep > 0) renameSync(path, `${path}.1`);
    } finally {
      fd = openSync(path, "a", 0o600);
    }
  };

  return {
    write(line) {
      if (fd === null) return;
      const stamp = `${new Date().toISOString()} `;
      const bytes = Buffer.from(
        `${line
          .replace(/\n$/, "")
          .split("\n")
          .map((part) => stamp + part)
          .join("\n")}\n`,
      );
      // A log write must never take the daemon down (disk full, directory removed): drop the line.
      try {
        // Rotate before writing so the file stays under maxBytes; a lone oversized line still lands.
        const size = fstatSync(fd).size;
        if (size > 0 && size + bytes.length > maxBytes) rotate();
        if (fd !== null) writeSync(fd, bytes);
      } catch {
        // dropped
      }
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

const CHUNK = 64 * 1024;

/** The last `count` lines of the first `size` bytes of an open file, reading backwards in chunks. */
function lastLinesOf(fd: number, size: number, count: number): string[] {
  if (count <= 0 || size === 0) return [];
  const chunks: Buffer[] = [];
  let start = size;
  let newlines = 0;
  // count + 1 newlines mean `count` whole lines follow the first, possibly partial, one.
  while (start > 0 && newlines <= count) {
    const length = Math.min(CHUNK, start);
    start -= length;
    const chunk = Buffer.alloc(length);
    readSync(fd, chunk, 0, length, start);
    for (const byte of chunk) if (byte === 10) newlines++;
    chunks.unshift(chunk);
  }
  return Buffer.concat(chunks).toString("utf8").replace(/\n$/, "").split("\n").slice(-count);
}

export function tailLines(path: string, count: number): string[] {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return [];
  }
  try {
    return lastLinesOf(fd, fstatSync(fd).size, count);
  } finally {
    closeSync(fd);
  }
}

export interface FollowOptions {
  lines?: number;
  follow?: boolean;
  signal?: AbortSignal;
  write: (text: string) => void;
  /** How often to look for new lines; tests shorten it. */
  pollMs?: number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function openForReading(path: string): { fd: number; ino: number } | null {
  try {
    const fd = openSync(path, "r");
    return { fd, ino: fstatSync(fd).ino };
  } catch {
    return null;
  }
}

/** Prints the last lines, then follows like `tail -F`: survives rotation and a file that does not exist yet. */
export async function followLog(path: string, opts: FollowOptions): Promise<void> {
  const { signal, write } = opts;
  const pollMs = opts.pollMs ?? 200;
  let current = openForReading(path);
  let position = 0;
  const decoder = new TextDecoder();
  if (current) {
    position = fstatSync(current.fd).size;
    const lines = lastLinesOf(current.fd, position, opts.lines ?? 50);
    if (lines.length > 0) write(`${lines.join("\n")}\n`);
  }
  if (opts.follow === false) {
    if (current) closeSync(current.fd);
    return;
  }

  // Reads whatever the open file gained since last time; a rotated-away file can still gain its last lines.
  const drain = () => {
    if (!current) return;
    const buffer = Buffer.alloc(CHUNK);
    for (;;) {
      const read = readSync(current.fd, buffer, 0, CHUNK, position);
      if (read <= 0) break;
      position += read;
      write(decoder.decode(buffer.subarray(0, read), { stream: true }));
    }
  };

  try {
    while (!signal?.aborted) {
      await sleep(pollMs, signal);
      if (signal?.aborted) break;
      let onDisk: { ino: number; size: number } | null = null;
      try {
        onDisk = statSync(path);
      } catch {
        // Between the rename and the reopen there is briefly no file: keep reading the old one.
      }
      if (current && onDisk && onDisk.ino === current.ino && onDisk.size < position) {
        position = 0; // truncated in place
      }
      drain();
      if (onDisk && (!current || onDisk.ino !== current.ino)) {
        if (current) closeSync(current.fd);
        current = openForReading(path);
        position = 0;
        drain();
      }
    }
  } finally {
    if (current) closeSync(current.fd);
  }
}
