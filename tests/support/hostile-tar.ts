// Archives built byte by byte, as a hostile bucket could hold them: raw ustar headers of any type
// and name, metadata naming any files, compressed with any zstd window.
import { writeFileSync } from "node:fs";
import zlib from "node:zlib";
import { archiveMetadata } from "../../src/remote/archive";
import { padding } from "../../src/remote/tar";
import { testEntry } from "./entry";

export function rawHeader(name: string, size: number, type = "0", prefix = ""): Uint8Array {
  const header = new Uint8Array(512);
  const put = (offset: number, text: string) => header.set(new TextEncoder().encode(text), offset);
  put(0, name);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, `${size.toString(8).padStart(11, "0")}\0`);
  put(136, "00000000000\0");
  put(156, type);
  put(257, "ustar\0");
  put(263, "00");
  put(345, prefix);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  return header;
}

export function member(name: string, body: Uint8Array, type = "0", prefix = ""): Uint8Array[] {
  return [rawHeader(name, body.length, type, prefix), body, padding(body.length)];
}

export function metadataFor(
  expected: { key: string; crate: string },
  files: { name: string; bytes: Uint8Array; executable?: boolean }[],
) {
  const base = archiveMetadata(testEntry({ key: expected.key, crate: expected.crate }));
  base.files = files.map((file) => ({
    name: file.name,
    size: file.bytes.length,
    sha256: new Bun.CryptoHasher("sha256").update(file.bytes).digest("hex"),
    executable: file.executable ?? false,
    depInfo: false,
  }));
  return base;
}

export function writeArchive(path: string, parts: Uint8Array[], level = 3, windowLog?: number): string {
  const params: Record<number, number> = { [zlib.constants.ZSTD_c_compressionLevel]: level };
  if (windowLog) params[zlib.constants.ZSTD_c_windowLog] = windowLog;
  writeFileSync(path, zlib.zstdCompressSync(Buffer.concat(parts), { params }));
  return path;
}
