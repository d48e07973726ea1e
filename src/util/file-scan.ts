// One pass over a file for everything the store needs: its sha256 (the blob's name), its content
// check, and which of some strings (local root paths) occur in it, through one reused buffer.
import { closeSync, openSync } from "node:fs";
import { readFullChunk } from "./hash";

const CHUNK = 1 << 20;
let buffer: Uint8Array | null = null;

export interface FileScan {
  hash: string;
  check: string;
  size: number;
  /** The needles that occur somewhere in the file. */
  found: string[];
}

/**
 * The check is the same as `contentCheck` (util/hash.ts): xxHash3 over 1 MiB chunks, each seeded
 * with the previous chunk's. Needles are searched across chunk boundaries.
 */
export function scanFile(path: string, needles: readonly string[] = []): FileScan {
  const longest = Math.max(0, ...needles.map((needle) => Buffer.byteLength(needle)));
  // Room before each chunk for the tail of the previous one, so a needle split by a boundary is found.
  buffer ??= new Uint8Array(CHUNK + 4096);
  if (longest > 4096) throw new Error("needle longer than the scan overlap");
  const view = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const targets = needles.map((needle) => Buffer.from(needle));
  const found = new Set<number>();
  const hasher = new Bun.CryptoHasher("sha256");
  let check = 0n;
  let size = 0;
  let carried = 0;
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const read = readFullChunk(fd, buffer.subarray(4096, 4096 + CHUNK));
      if (read === 0) break;
      const chunk = buffer.subarray(4096, 4096 + read);
      hasher.update(chunk);
      check = Bun.hash.xxHash3(chunk, check);
      size += read;
      const window = view.subarray(4096 - carried, 4096 + read);
      targets.forEach((target, i) => {
        if (!found.has(i) && window.indexOf(target) !== -1) found.add(i);
      });
      carried = Math.min(longest > 0 ? longest - 1 : 0, read);
      buffer.copyWithin(4096 - carried, 4096 + read - carried, 4096 + read);
      if (read < CHUNK) break;
    }
  } finally {
    closeSync(fd);
  }
  return {
    hash: hasher.digest("hex"),
    check: check.toString(16).padStart(16, "0"),
    size,
    found: [...found].map((i) => needles[i]!),
  };
}
