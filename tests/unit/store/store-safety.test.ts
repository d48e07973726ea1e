// The store's own safety rules: content checks, entry names that stay in the out-dir, an index
// from a newer kache left alone, and a cache dir nobody else can plant entries in.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore } from "../../../src/store/blobs";
import { CacheDirRefused, ensureCacheDir } from "../../../src/store/cache-dir";
import { type Entry, IndexDb } from "../../../src/store/index-db";
import { INDEX_SCHEMA_VERSION, NewerIndexError } from "../../../src/store/index-file";
import { DamagedEntryError, restoreEntry } from "../../../src/store/restore";
import { scanFile } from "../../../src/util/file-scan";
import { contentCheck, contentCheckOfFile } from "../../../src/util/hash";
import { PathNormaliser } from "../../../src/util/path-roots";
import { testEntry } from "../../support/entry";

const root = mkdtempSync(join(tmpdir(), "kache-store-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string) => join(root, `${name}-${++counter}`);

describe("content checks", () => {
  test("the check of bytes and of the same bytes in a file agree, across 1 MiB chunk edges", () => {
    for (const size of [0, 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7]) {
      const data = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
      const file = fresh("check");
      writeFileSync(file, data);
      expect(contentCheckOfFile(file)).toBe(contentCheck(data));
    }
  });

  test("one scan of a file gives its sha256, the same check, and the needles it holds across chunk edges", () => {
    const data = Buffer.alloc(3 * (1 << 20) + 11, 0x61);
    const needle = "/home/someone/project";
    data.write(needle, (1 << 20) - 5); // across the first chunk boundary
    const file = fresh("scan");
    writeFileSync(file, data);
    const scan = scanFile(file, [needle, "/not/there"]);
    expect(scan.hash).toBe(new Bun.CryptoHasher("sha256").update(data).digest("hex"));
    expect(scan.check).toBe(contentCheck(data));
    expect(scan.size).toBe(data.length);
    expect(scan.found).toEqual([needle]);
  });

  test("one byte changed anywhere changes the check", () => {
    const data = new Uint8Array(2 * (1 << 20) + 5).fill(9);
    const before = contentCheck(data);
    for (const at of [0, 1 << 20, data.length - 1]) {
      const changed = data.slice();
      changed[at] = 10;
      expect(contentCheck(changed)).not.toBe(before);
    }
  });
});

function entryWith(name: string, blob: string, size: number, check: string): Entry {
  const files = [{ name, blob, size, check, executable: false, depInfo: false }];
  return testEntry({ key: "k", crate: "demo", target: "x", files, size });
}

/** Stores `output` the way a miss does with an rlib: the blob becomes a hardlink of the output. */
function storeShared(blobs: BlobStore, output: string): string {
  const staged = blobs.tempFile();
  linkSync(output, staged);
  const { hash, size } = scanFile(staged);
  blobs.adopt(staged, hash, size, "shared");
  return hash;
}

describe("restore", () => {
  test("a file name that leaves the out-dir, or a blob name that is no hash, restores nothing", () => {
    const cacheDir = fresh("cache");
    const outDir = join(fresh("out"), "deep", "deps");
    mkdirSync(outDir, { recursive: true });
    const source = join(cacheDir, "source");
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(source, "payload");
    const blobs = new BlobStore(cacheDir);
    const data = Buffer.from("payload");
    const hash = storeShared(blobs, source);
    const normaliser = new PathNormaliser([]);
    for (const name of ["../escaped", "sub/dir", "..", ".", "", "a\\b", "nul\0"]) {
      expect(() =>
        restoreEntry(blobs, entryWith(name, hash, data.length, contentCheck(data)), outDir, normaliser),
      ).toThrow(DamagedEntryError);
    }
    expect(() =>
      restoreEntry(
        blobs,
        entryWith("ok", "../../../../etc/passwd", 7, contentCheck(data)),
        outDir,
        normaliser,
      ),
    ).toThrow(DamagedEntryError);
    expect(readdirSync(outDir)).toEqual([]);
    expect(existsSync(join(outDir, "..", "escaped"))).toBe(false);
  });

  test("a blob written in place through a link is never restored, and leaves the store", () => {
    const cacheDir = fresh("cache");
    const outDir = fresh("out");
    mkdirSync(outDir, { recursive: true });
    mkdirSync(cacheDir, { recursive: true });
    const source = join(outDir, "libdemo.rlib");
    const data = Buffer.from("original rlib bytes");
    writeFileSync(source, data);
    const blobs = new BlobStore(cacheDir);
    const hash = storeShared(blobs, source);
    expect(statSync(source).ino).toBe(statSync(blobs.path(hash, false)).ino);
    writeFileSync(source, "tampered rlib bytes"); // same size, same inode as the blob
    const other = fresh("other");
    mkdirSync(other);
    const normaliser = new PathNormaliser([]);
    expect(() =>
      restoreEntry(
        blobs,
        entryWith("libdemo.rlib", hash, data.length, contentCheck(data)),
        other,
        normaliser,
      ),
    ).toThrow(DamagedEntryError);
    expect(readdirSync(other)).toEqual([]);
    expect(blobs.has(hash, false, data.length)).toBe(false);
  });
});

describe("index schema", () => {
  test("an index from a newer kache is refused and left exactly as it is", () => {
    const cacheDir = fresh("cache");
    mkdirSync(cacheDir);
    const path = join(cacheDir, "index.db");
    const future = new Database(path, { create: true });
    future.run("PRAGMA journal_mode = WAL");
    future.run("CREATE TABLE entries (key TEXT, future_column TEXT)");
    future.run("INSERT INTO entries VALUES ('k', 'from the future')");
    future.run(`PRAGMA user_version = ${INDEX_SCHEMA_VERSION + 1}`);
    future.close();
    expect(() => IndexDb.open(cacheDir)).toThrow(NewerIndexError);
    const after = new Database(path, { readonly: true });
    expect(after.query("SELECT future_column FROM entries").all()).toEqual([
      { future_column: "from the future" },
    ]);
    expect((after.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(
      INDEX_SCHEMA_VERSION + 1,
    );
    after.close();
  });

  test("an index from an older kache is rebuilt", () => {
    const cacheDir = fresh("cache");
    mkdirSync(cacheDir);
    const old = new Database(join(cacheDir, "index.db"), { create: true });
    old.run("CREATE TABLE entries (key TEXT)");
    old.run(`PRAGMA user_version = ${INDEX_SCHEMA_VERSION - 1}`);
    old.close();
    const index = IndexDb.open(cacheDir);
    expect(index.getEntry("anything")).toBeNull();
    index.close();
  });
});

describe("cache dir", () => {
  test("a new cache dir is created owner-only", () => {
    const dir = join(fresh("parent"), "a", "cache");
    ensureCacheDir(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  test("a cache dir another user owns is refused", () => {
    const uid = process.getuid!();
    let dir: string;
    if (uid === 0) {
      dir = fresh("theirs");
      mkdirSync(dir, { mode: 0o755 });
      chownSync(dir, 65534, 65534); // nobody
    } else {
      dir = "/"; // root's
    }
    expect(() => ensureCacheDir(dir)).toThrow(CacheDirRefused);
  });

  test("a cache dir every user may write is refused; group write is allowed", () => {
    const open = fresh("open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => ensureCacheDir(open)).toThrow(CacheDirRefused);
    const group = fresh("group");
    mkdirSync(group);
    chmodSync(group, 0o770);
    expect(() => ensureCacheDir(group)).not.toThrow();
  });
});
