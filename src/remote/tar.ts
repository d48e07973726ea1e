// The archive's container: a strict subset of ustar. Written only with flat member names and
// regular files; read as hostile input, so anything else (links, devices, directories, pax or GNU
// headers, paths, a bad checksum, a member over its cap) is an error before a byte is kept.

const BLOCK = 512;
const END = new Uint8Array(BLOCK * 2);

/** What a reader accepts as a member name: flat, short, no dots of its own. */
export const MEMBER_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

export class TarError extends Error {}

function writeField(header: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > length) throw new TarError(`tar field too long: ${text}`);
  header.set(bytes, offset);
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, "0")}\0`;
}

function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum;
}

/** The header block of a regular file. */
export function fileHeader(name: string, size: number, executable: boolean): Uint8Array {
  if (!MEMBER_NAME.test(name)) throw new TarError(`not a flat member name: ${name}`);
  const header = new Uint8Array(BLOCK);
  writeField(header, 0, 100, name);
  writeField(header, 100, 8, octal(executable ? 0o755 : 0o644, 8));
  writeField(header, 108, 8, octal(0, 8));
  writeField(header, 116, 8, octal(0, 8));
  writeField(header, 124, 12, octal(size, 12));
  writeField(header, 136, 12, octal(0, 12));
  header[156] = 0x30; // "0": a regular file
  writeField(header, 257, 6, "ustar\0");
  writeField(header, 263, 2, "00");
  writeField(header, 148, 8, `${checksum(header).toString(8).padStart(6, "0")}\0 `);
  return header;
}

/** Zero bytes that fill a member's body up to the next block. */
export function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

export function endOfArchive(): Uint8Array {
  return END;
}

export interface MemberHeader {
  name: string;
  size: number;
  executable: boolean;
}

function text(header: Uint8Array, offset: number, length: number): string {
  const field = header.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end === -1 ? field : field.subarray(0, end));
}

function readOctal(header: Uint8Array, offset: number, length: number, what: string): number {
  const field = text(header, offset, length).trim();
  if (!/^[0-7]{1,12}$/.test(field)) throw new TarError(`bad ${what} field in a tar header`);
  return Number.parseInt(field, 8);
}

/** Parses one header block; null for a zero block (the end of the archive). */
export function parseHeader(header: Uint8Array): MemberHeader | null {
  if (header.every((byte) => byte === 0)) return null;
  if (readOctal(header, 148, 8, "checksum") !== checksum(header))
    throw new TarError("tar header checksum mismatch");
  if (text(header, 257, 6) !== "ustar") throw new TarError("not a ustar header");
  const type = header[156];
  if (type !== 0x30 && type !== 0)
    throw new TarError(
      `tar member of type "${String.fromCharCode(type!)}" (only regular files are accepted)`,
    );
  if (text(header, 345, 155) !== "") throw new TarError("tar member with a path prefix");
  const name = text(header, 0, 100);
  if (!MEMBER_NAME.test(name)) throw new TarError(`tar member name not accepted: ${JSON.stringify(name)}`);
  const mode = readOctal(header, 100, 8, "mode");
  return { name, size: readOctal(header, 124, 12, "size"), executable: (mode & 0o111) !== 0 };
}

export const TAR_BLOCK = BLOCK;
