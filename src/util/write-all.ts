// A write(2) may take fewer bytes than asked: a full disk takes what fits and fails only on the next
// call, a non-blocking pipe takes what its buffer holds. Every caller that must write all goes here.
import { writeSync } from "node:fs";

/** Writes every byte or throws; on a full non-blocking pipe (cargo's stderr) it waits and retries. */
export function writeAllSync(fd: number, data: Uint8Array | string): void {
  let bytes = typeof data === "string" ? Buffer.from(data) : data;
  while (bytes.byteLength > 0) {
    try {
      const written = writeSync(fd, bytes);
      bytes = bytes.subarray(written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      Bun.sleepSync(1);
    }
  }
}
