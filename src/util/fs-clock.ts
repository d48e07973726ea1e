// The filesystem's own clock, read by creating a file: file times come from a coarse kernel clock
// that can lag the wall clock by a tick, so comparisons with file times must use this one.
import { closeSync, fstatSync, openSync } from "node:fs";
import { join } from "node:path";
import { unlinkQuietly } from "./atomic-write";

let counter = 0;

/** Nanoseconds since the epoch, as the filesystem under `dir` would stamp a file written now. */
export function fileSystemClockNs(dir: string): bigint {
  counter += 1;
  const probe = join(dir, `.kache-clock-${process.pid}-${counter}`);
  const fd = openSync(probe, "w");
  try {
    return fstatSync(fd, { bigint: true }).mtimeNs;
  } finally {
    closeSync(fd);
    unlinkQuietly(probe);
  }
}
