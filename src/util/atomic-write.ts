// Write-to-temp-then-rename, the one way kache replaces a file so readers never see half of it.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { writeAllSync } from "./write-all";

let counter = 0;

export function tempPathBeside(path: string): string {
  counter += 1;
  return join(dirname(path), `.${basename(path)}.kache-tmp-${process.pid}-${counter}`);
}

export function atomicWrite(
  path: string,
  data: Uint8Array | string,
  opts: { mode?: number; fsync?: boolean } = {},
) {
  const temp = tempPathBeside(path);
  const fd = openSync(temp, "wx", opts.mode ?? 0o644);
  try {
    writeAllSync(fd, data);
    if (opts.fsync) fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkQuietly(temp);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    unlinkQuietly(temp);
    throw error;
  }
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
