// An entry as one object: `{prefix}/{crate}/{key}.tar.zst`, a zstd-compressed strict tar of a
// metadata member and the entry's files. Packed from the store (every blob re-hashed on the way, so
// a damaged local blob is never shared) and unpacked as hostile input: nothing reaches the store or
// the index until every member passed its checks.
import { closeSync, createReadStream, createWriteStream, openSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import type { BlobStore } from "../store/blobs";
import type { Entry, StoredFile } from "../store/index-db";
import { unlinkQuietly } from "../util/atomic-write";
import { ContentChecker } from "../util/hash";
import { writeAllSync } from "../util/write-all";
import { VERSION } from "../version";
import { RemoteError } from "./remote";
import { endOfArchive, fileHeader, padding, parseHeader, TAR_BLOCK, TarError } from "./tar";

export const ARCHIVE_FORMAT = 1;
const METADATA = "kache.json";
const METADATA_MAX_BYTES = 4 * 1024 * 1024;
/** 2^27: zstd's default ceiling for a decoder; a frame asking for more is refused, not allocated. */
const WINDOW_LOG_MAX = 27;

export interface ArchiveLimits {
  /** Most bytes the members may declare in all (a decompression bomb stops here). */
  maxTotalBytes: number;
  maxFiles: number;
}

export const DEFAULT_LIMITS: ArchiveLimits = { maxTotalBytes: 4 * 1024 ** 3, maxFiles: 1000 };

interface MetadataFile {
  name: string;
  size: number;
  sha256: string;
  executable: boolean;
  depInfo: boolean;
}

/** The metadata member: what the entry is, and every file's size and hash. */
export interface ArchiveMetadata {
  format: number;
  kache: string;
  key: string;
  crate: string;
  crateTypes: string[];
  target: string;
  profile: string;
  features: string[];
  stdout: string;
  stderr: string;
  compileMs: number;
  components: Record<string, unknown>;
  files: MetadataFile[];
  /** The direct-mode input list that led to this key, when there is one. */
  manifest: { fingerprint: string; text: string } | null;
}

/**
 * An archive kache does not accept. `damaged`: its bytes are wrong (a hash, a size, the framing,
 * the compression, a hostile member, another key's entry), so a copy stored that way should be
 * replaced; otherwise this reader refuses it (a format or a limit another kache may accept, or a
 * local error) and it is left alone.
 */
export class ArchiveError extends Error {
  constructor(
    message: string,
    readonly damaged = false,
  ) {
    super(message);
  }
}

const SHA256 = /^[0-9a-f]{64}$/;
/** A file name an entry may restore: one path component inside the out-dir. */
const OUTPUT_NAME = /^(?!\.\.?$)[^/\\\0]{1,255}$/;

export function archiveMetadata(entry: Entry, manifest: ArchiveMetadata["manifest"] = null): ArchiveMetadata {
  return {
    format: ARCHIVE_FORMAT,
    kache: VERSION,
    key: entry.key,
    crate: entry.crate,
    crateTypes: entry.crateTypes,
    target: entry.target,
    profile: entry.profile,
    features: entry.features,
    stdout: entry.stdout,
    stderr: entry.stderr,
    compileMs: entry.compileMs,
    components: entry.components,
    files: entry.files.map((file) => ({
      name: file.name,
      size: file.size,
      sha256: file.blob,
      executable: file.executable,
      depInfo: file.depInfo,
    })),
    manifest,
  };
}

async function* blobChunks(path: string, expected: StoredFile): AsyncGenerator<Uint8Array> {
  const hasher = new Bun.CryptoHasher("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = chunk as Buffer;
    hasher.update(bytes);
    size += bytes.length;
    yield bytes;
  }
  if (size !== expected.size || hasher.digest("hex") !== expected.blob)
    throw new ArchiveError(`the local blob of ${expected.name} no longer matches its hash; not uploaded`);
}

async function* tarStream(
  metadata: ArchiveMetadata,
  entry: Entry,
  blobs: BlobStore,
): AsyncGenerator<Uint8Array> {
  const header = new TextEncoder().encode(JSON.stringify(metadata));
  yield fileHeader(METADATA, header.length, false);
  yield header;
  yield padding(header.length);
  for (const [index, file] of entry.files.entries()) {
    yield fileHeader(`f${index}`, file.size, file.executable);
    yield* blobChunks(blobs.path(file.blob, file.executable), file);
    yield padding(file.size);
  }
  yield endOfArchive();
}

/** Writes the entry's archive to `destination` (a temp path the caller owns); its size in bytes. */
export async function packEntry(
  entry: Entry,
  blobs: BlobStore,
  destination: string,
  level: number,
  manifest: ArchiveMetadata["manifest"] = null,
): Promise<number> {
  if (entry.boundTo) throw new ArchiveError("a location-bound entry is never shared");
  const output = createWriteStream(destination, { mode: 0o600 });
  let written = 0;
  const compress = zlib.createZstdCompress({
    chunkSize: 1 << 20,
    params: { [zlib.constants.ZSTD_c_compressionLevel]: level, [zlib.constants.ZSTD_c_windowLog]: 23 },
  });
  compress.on("data", (chunk: Buffer) => {
    written += chunk.length;
  });
  await pipeline(Readable.from(tarStream(archiveMetadata(entry, manifest), entry, blobs)), compress, output);
  return written;
}

function fail(message: string): never {
  throw new ArchiveError(message);
}

function damaged(message: string): never {
  throw new ArchiveError(message, true);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** The metadata member, checked field by field: the bucket is not trusted with any of it. */
export function parseMetadata(bytes: Uint8Array, limits: ArchiveLimits): ArchiveMetadata {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    damaged("the archive's metadata is not JSON");
  }
  if (value?.format !== ARCHIVE_FORMAT)
    fail(`archive format ${String(value?.format)} is not ${ARCHIVE_FORMAT}`);
  for (const field of ["key", "crate", "target", "profile", "stdout", "stderr"] as const)
    if (typeof value[field] !== "string") fail(`archive metadata without a ${field}`);
  if (!isStringArray(value.crateTypes) || !isStringArray(value.features))
    fail("archive metadata lists are not strings");
  if (typeof value.compileMs !== "number") fail("archive metadata without a compile time");
  if (typeof value.components !== "object" || value.components === null)
    fail("archive metadata without components");
  const files = value.files;
  if (!Array.isArray(files) || files.length > limits.maxFiles) fail("archive metadata with a bad file list");
  const names = new Set<string>();
  let total = 0;
  for (const file of files as MetadataFile[]) {
    if (typeof file?.name !== "string" || !OUTPUT_NAME.test(file.name))
      damaged(`archive file name not accepted: ${JSON.stringify(file?.name)}`);
    if (names.has(file.name)) damaged(`archive lists ${file.name} twice`);
    names.add(file.name);
    if (!Number.isSafeInteger(file.size) || file.size < 0) fail(`archive file ${file.name} has a bad size`);
    if (typeof file.sha256 !== "string" || !SHA256.test(file.sha256))
      fail(`archive file ${file.name} has a bad hash`);
    if (typeof file.executable !== "boolean" || typeof file.depInfo !== "boolean")
      fail(`archive file ${file.name} has bad flags`);
    total += file.size;
  }
  if (total > limits.maxTotalBytes)
    fail(`archive declares ${total} bytes, over the ${limits.maxTotalBytes} allowed`);
  const manifest = value.manifest as ArchiveMetadata["manifest"];
  if (manifest !== null && (typeof manifest?.fingerprint !== "string" || typeof manifest.text !== "string"))
    fail("archive metadata with a bad manifest");
  return value as unknown as ArchiveMetadata;
}

/** One member's bytes on their way to a temp file in the store, hashed as they arrive. */
interface OpenMember {
  index: number;
  remaining: number;
  padding: number;
  fd: number;
  path: string;
  hasher: Bun.CryptoHasher;
  checker: ContentChecker;
}

/** The archive's files, verified, in temp files of the store; the caller adopts or removes them. */
export interface Unpacked {
  metadata: ArchiveMetadata;
  temps: string[];
  checks: string[];
}

class Unpacker {
  private pending = new Uint8Array(0);
  private metadataBytes: Uint8Array[] = [];
  private metadataSize = -1;
  private metadataPadding = 0;
  metadata: ArchiveMetadata | null = null;
  private member: OpenMember | null = null;
  private nextFile = 0;
  readonly temps: string[] = [];
  /** Each file's content check (the restore's guard), computed on the way in. */
  readonly checks: string[] = [];
  ended = false;

  constructor(
    private readonly blobs: BlobStore,
    private readonly limits: ArchiveLimits,
  ) {}

  push(chunk: Uint8Array): void {
    let data = chunk;
    while (data.length > 0) {
      if (this.ended) {
        if (data.some((byte) => byte !== 0)) damaged("data after the end of the archive");
        return;
      }
      if (this.member) data = this.feedMember(data);
      else if (this.metadataSize >= 0) data = this.feedMetadata(data);
      else data = this.feedHeader(data);
    }
  }

  private feedHeader(data: Uint8Array): Uint8Array {
    const need = TAR_BLOCK - this.pending.length;
    const joined = new Uint8Array(this.pending.length + Math.min(need, data.length));
    joined.set(this.pending);
    joined.set(data.subarray(0, need), this.pending.length);
    this.pending = joined;
    if (this.pending.length < TAR_BLOCK) return new Uint8Array(0);
    const header = parseHeader(this.pending);
    this.pending = new Uint8Array(0);
    if (header === null) this.finish();
    else this.startMember(header.name, header.size, header.executable);
    return data.subarray(need);
  }

  private startMember(name: string, size: number, executable: boolean): void {
    const pad = (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
    if (!this.metadata) {
      if (name !== METADATA) damaged(`the archive starts with ${name}, not its metadata`);
      if (size > METADATA_MAX_BYTES) fail("the archive's metadata is too large");
      this.metadataSize = size;
      this.metadataPadding = pad;
      if (size === 0 && pad === 0) this.endMetadata();
      return;
    }
    const declared = this.metadata.files[this.nextFile];
    if (!declared || name !== `f${this.nextFile}`) damaged(`unexpected archive member ${name}`);
    if (size !== declared.size)
      damaged(`archive member ${name} is ${size} bytes, the metadata says ${declared.size}`);
    if (executable !== declared.executable) damaged(`archive member ${name} has the wrong mode`);
    const path = this.blobs.tempFile();
    this.temps.push(path);
    this.member = {
      index: this.nextFile,
      remaining: size,
      padding: pad,
      fd: openSync(path, "wx", 0o600),
      path,
      hasher: new Bun.CryptoHasher("sha256"),
      checker: new ContentChecker(),
    };
    this.nextFile += 1;
    if (size === 0 && pad === 0) this.endMember();
  }

  private feedMetadata(data: Uint8Array): Uint8Array {
    const body = Math.min(data.length, this.metadataSize);
    if (body > 0) this.metadataBytes.push(data.slice(0, body));
    this.metadataSize -= body;
    const skip = Math.min(data.length - body, this.metadataPadding);
    this.metadataPadding -= skip;
    if (this.metadataSize === 0 && this.metadataPadding === 0) this.endMetadata();
    return data.subarray(body + skip);
  }

  private endMetadata(): void {
    this.metadata = parseMetadata(Buffer.concat(this.metadataBytes), this.limits);
    this.metadataBytes = [];
    this.metadataSize = -1;
  }

  private feedMember(data: Uint8Array): Uint8Array {
    const member = this.member!;
    const body = Math.min(data.length, member.remaining);
    if (body > 0) {
      const bytes = data.subarray(0, body);
      member.hasher.update(bytes);
      member.checker.update(bytes);
      writeAllSync(member.fd, bytes);
      member.remaining -= body;
    }
    const skip = Math.min(data.length - body, member.padding);
    member.padding -= skip;
    if (member.remaining === 0 && member.padding === 0) this.endMember();
    return data.subarray(body + skip);
  }

  private endMember(): void {
    const member = this.member!;
    this.member = null;
    // No fsync: a blob cut short by a crash fails its size or content check on the restore that
    // reads it, and the entry is dropped and compiled again (store/restore.ts).
    closeSync(member.fd);
    const declared = this.metadata!.files[member.index]!;
    if (member.hasher.digest("hex") !== declared.sha256)
      damaged(`archive member for ${declared.name} does not match its hash`);
    this.checks.push(member.checker.digest());
  }

  private finish(): void {
    if (!this.metadata) damaged("the archive has no metadata");
    if (this.nextFile !== this.metadata.files.length) damaged("the archive lacks some of its files");
    this.ended = true;
  }

  abort(): void {
    if (this.member) closeSync(this.member.fd);
    this.member = null;
    for (const path of this.temps) unlinkQuietly(path);
  }
}

/**
 * Reads an archive into temp files of the store, checking every header, name, size and hash;
 * throws (and leaves nothing behind) at the first thing it does not accept.
 */
export function unpackArchive(
  archive: string,
  blobs: BlobStore,
  limits: ArchiveLimits = DEFAULT_LIMITS,
): Promise<Unpacked> {
  return unpackStream(createReadStream(archive, { highWaterMark: 1 << 20 }), blobs, limits);
}

/** Compressed bytes gathered before each write to zstd. */
const COMPRESSED_PIECE = 1 << 20;

/**
 * The source's pieces joined into pieces of at least 1 MiB: an HTTP body comes in 16-64 KiB, and
 * each write to zstd is a round trip through the thread pool that cost more than the copy.
 */
async function* coalesced(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let pieces: Uint8Array[] = [];
  let size = 0;
  for await (const piece of source) {
    pieces.push(piece);
    size += piece.length;
    if (size >= COMPRESSED_PIECE) {
      yield pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, size);
      pieces = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(pieces, size);
}

/**
 * The same from the compressed bytes as they arrive (a download): nothing is written but the
 * files themselves. A failure of the source itself (a RemoteError: the connection dropped) is
 * thrown as it is, since it says nothing about the archive.
 */
export async function unpackStream(
  compressed: AsyncIterable<Uint8Array>,
  blobs: BlobStore,
  limits: ArchiveLimits = DEFAULT_LIMITS,
): Promise<Unpacked> {
  const unpacker = new Unpacker(blobs, limits);
  try {
    // 1 MiB pieces: every piece costs a hash update, a check update and a write on this thread.
    const decompress = zlib.createZstdDecompress({
      chunkSize: 1 << 20,
      params: { [zlib.constants.ZSTD_d_windowLogMax]: WINDOW_LOG_MAX },
    });
    const input = Readable.from(coalesced(compressed), { objectMode: false });
    input.on("error", (error) => decompress.destroy(error));
    const source = input.pipe(decompress);
    for await (const chunk of source) {
      unpacker.push(chunk as Buffer);
      // Buffered chunks arrive as microtasks, which never let the event loop run: without a turn
      // here, a daemon unpacking several downloads held its thread up to 240 ms, and the wrappers
      // asking it for a key waited.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (!unpacker.ended || !unpacker.metadata) damaged("the archive ends early");
    return { metadata: unpacker.metadata, temps: unpacker.temps, checks: unpacker.checks };
  } catch (error) {
    unpacker.abort();
    if (error instanceof ArchiveError || error instanceof TarError || error instanceof RemoteError)
      throw error;
    // An error of this machine (a full disk, a permission) says nothing of the object; zstd's does.
    const local = typeof (error as { syscall?: unknown })?.syscall === "string";
    throw new ArchiveError(`the archive cannot be read: ${(error as Error)?.message ?? error}`, !local);
  }
}
