// One hash for everything kache names by content: blobs, files, keys (sha256, hex).
import { closeSync, openSync, readSync } from "node:fs";

export type Digest = string;

export function hashBytes(data: Uint8Array | string): Digest {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(data);
  return hasher.digest("hex");
}

/** Streams the file through the hasher so large rlibs are not held in memory twice. */
export function hashFile(path: string): Digest {
  const hasher = new Bun.CryptoHasher("sha256");
  const fd = openSync(path, "r");
  try {
    const chunk = new Uint8Array(1 << 20);
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read <= 0) break;
      hasher.update(chunk.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hasher.digest("hex");
}

/** Hashes a sequence of named parts unambiguously (length-prefixed). */
export function hashParts(parts: Iterable<string>): Digest {
  const hasher = new Bun.CryptoHasher("sha256");
  for (const part of parts) {
    hasher.update(`${Buffer.byteLength(part)}:`);
    hasher.update(part);
  }
  return hasher.digest("hex");
}
