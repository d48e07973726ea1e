// Entry archives: a real store and index packed and unpacked byte-exact, and every kind of hostile
// archive refused before anything reaches the store.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RemoteSettings } from "../../../src/config/settings";
import { ArchiveError, packEntry, unpackArchive } from "../../../src/remote/archive";
import { FilesystemRemote } from "../../../src/remote/filesystem-remote";
import { importEntry } from "../../../src/remote/import-entry";
import { entryObjectKey } from "../../../src/remote/remote";
import { endOfArchive } from "../../../src/remote/tar";
import { pullEntry, storedDamage } from "../../../src/remote/transfer";
import { BlobStore } from "../../../src/store/blobs";
import { type Entry, IndexDb } from "../../../src/store/index-db";
import { scanFile } from "../../../src/util/file-scan";
import { member, metadataFor, writeArchive } from "../../support/hostile-tar";

const root = mkdtempSync(join(tmpdir(), "kache-archive-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

function cacheDir(): { dir: string; blobs: BlobStore; index: IndexDb } {
  counter += 1;
  const dir = join(root, `cache-${counter}`);
  mkdirSync(dir, { recursive: true });
  return { dir, blobs: new BlobStore(dir), index: IndexDb.open(dir) };
}

/** A stored entry with an rlib, an executable and a dep-info file, as the wrapper would leave it. */
function storedEntry(stores: { blobs: BlobStore; index: IndexDb }): Entry {
  const sources: [string, Uint8Array, "shared" | "executable" | "dep-info"][] = [
    ["libdemo-0123.rlib", new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) % 251), "shared"],
    ["demo-0123", new TextEncoder().encode("#!/bin/sh\necho demo\n"), "executable"],
    ["demo-0123.d", new TextEncoder().encode("{{TARGET_DIR}}/debug/demo: src/main.rs\n"), "dep-info"],
  ];
  const files = sources.map(([name, bytes, kind]) => {
    const temp = stores.blobs.tempFile();
    writeFileSync(temp, bytes);
    const scan = scanFile(temp);
    stores.blobs.adopt(temp, scan.hash, scan.size, kind);
    return {
      name,
      blob: scan.hash,
      size: scan.size,
      check: scan.check,
      executable: kind === "executable",
      depInfo: kind === "dep-info",
    };
  });
  const entry: Entry = {
    key: "a".repeat(64),
    crate: "demo",
    crateTypes: ["bin"],
    target: "x86_64-unknown-linux-gnu",
    profile: "debug",
    features: ["default"],
    files,
    stdout: "",
    stderr: '{"$message_type":"artifact"}\n',
    compileMs: 123,
    size: files.reduce((sum, file) => sum + file.size, 0),
    hits: 4,
    created: 1,
    lastUsed: 2,
    components: { rustc: ["rustc 1.95.0"] },
    boundTo: null,
  };
  stores.index.putEntry(entry);
  return entry;
}

const expected = { key: "a".repeat(64), crate: "demo" };

function storeTemps(blobs: BlobStore): string[] {
  try {
    return readdirSync(blobs.root).filter((name) => name.startsWith(".tmp-"));
  } catch {
    return [];
  }
}

describe("packing and unpacking an entry", () => {
  test("round-trips every file byte-exact, with its mode, its check and the manifest", async () => {
    const a = cacheDir();
    const entry = storedEntry(a);
    const archive = join(root, "round.tar.zst");
    const manifest = { fingerprint: "f".repeat(64), text: '{"sources":[]}' };
    const size = await packEntry(entry, a.blobs, archive, 3, manifest);
    expect(size).toBe(statSync(archive).size);
    expect(size).toBeLessThan(entry.size); // compressed

    const b = cacheDir();
    const imported = importEntry(await unpackArchive(archive, b.blobs), expected, b);
    expect(imported.files).toEqual(entry.files);
    expect(b.index.getEntry(entry.key)?.files).toEqual(entry.files);
    expect(b.index.getManifests(manifest.fingerprint, 16)).toEqual([manifest.text]);
    for (const file of entry.files) {
      const path = b.blobs.path(file.blob, file.executable);
      expect(readFileSync(path)).toEqual(readFileSync(a.blobs.path(file.blob, file.executable)));
      if (file.executable) expect(statSync(path).mode & 0o777).toBe(0o555);
    }
    expect(storeTemps(b.blobs)).toEqual([]);
  });

  test("a local blob damaged since it was stored is never packed", async () => {
    const a = cacheDir();
    const entry = storedEntry(a);
    const rlib = entry.files[0]!;
    const path = a.blobs.path(rlib.blob, false);
    const bytes = readFileSync(path);
    bytes[1000] ^= 0xff;
    writeFileSync(path, bytes);
    await expect(packEntry(entry, a.blobs, join(root, "damaged.tar.zst"), 3)).rejects.toThrow(
      /no longer matches/,
    );
  });

  test("an archive served under another key is refused", async () => {
    const a = cacheDir();
    const entry = storedEntry(a);
    const archive = join(root, "other.tar.zst");
    await packEntry(entry, a.blobs, archive, 3);
    const b = cacheDir();
    const unpacked = await unpackArchive(archive, b.blobs);
    expect(() => importEntry(unpacked, { key: "b".repeat(64), crate: "demo" }, b)).toThrow(ArchiveError);
    expect(b.index.getEntry(entry.key)).toBeNull();
    expect(storeTemps(b.blobs)).toEqual([]);
  });
});

const body = new TextEncoder().encode("rlib bytes");
const goodMetadata = () =>
  new TextEncoder().encode(JSON.stringify(metadataFor(expected, [{ name: "libdemo.rlib", bytes: body }])));

describe("pulling from a remote", () => {
  const openFiles = () => readdirSync("/dev/fd").length;

  test("streams the object into the store; a bad object is refused and leaves no file open", async () => {
    const remoteRoot = join(root, "remote");
    const settings = { type: "filesystem", path: remoteRoot, prefix: "" } as RemoteSettings;
    const remote = new FilesystemRemote(remoteRoot);
    const a = cacheDir();
    const entry = storedEntry(a);
    const objectPath = join(remoteRoot, entryObjectKey(settings, expected.crate, expected.key));
    mkdirSync(join(objectPath, ".."), { recursive: true });
    const size = await packEntry(entry, a.blobs, objectPath, 3);

    const b = cacheDir();
    const stores = { cacheDir: b.dir, index: b.index, blobs: b.blobs };
    expect(await pullEntry(remote, settings, expected.crate, expected.key, stores)).toBe(size);
    expect(b.index.getEntry(expected.key)?.files).toEqual(entry.files);
    expect(await pullEntry(remote, settings, expected.crate, "b".repeat(64), stores)).toBeNull();

    // Bytes that are not zstd at all: the unpack stops at once, before reading the whole object.
    writeFileSync(objectPath, new Uint8Array(4 * 1024 * 1024).fill(7));
    const c = cacheDir();
    const before = openFiles();
    for (let i = 0; i < 20; i++) {
      const pulled = pullEntry(remote, settings, expected.crate, expected.key, { ...c, cacheDir: c.dir });
      await expect(pulled).rejects.toThrow(ArchiveError);
    }
    expect(openFiles()).toBeLessThan(before + 5);
    expect(storeTemps(c.blobs)).toEqual([]);
    expect(c.index.getEntry(expected.key)).toBeNull();
  });
});

describe("telling stored damage from a body spoiled on its way", () => {
  test("damaged where stored: the same size as listed and the same failure; otherwise not, and a good object is stored", async () => {
    const remoteRoot = join(root, "remote-damage");
    const settings = { type: "filesystem", path: remoteRoot, prefix: "" } as RemoteSettings;
    const remote = new FilesystemRemote(remoteRoot);
    const a = cacheDir();
    const objectPath = join(remoteRoot, entryObjectKey(settings, expected.crate, expected.key));
    mkdirSync(join(objectPath, ".."), { recursive: true });
    const size = await packEntry(storedEntry(a), a.blobs, objectPath, 3);
    const whole = readFileSync(objectPath);
    const flipped = Buffer.from(whole);
    flipped[flipped.length >> 1]! ^= 0xff;
    writeFileSync(objectPath, flipped);

    const b = cacheDir();
    const stores = { cacheDir: b.dir, index: b.index, blobs: b.blobs };
    const failure = await pullEntry(remote, settings, expected.crate, expected.key, stores).catch((e) => e);
    expect(failure).toBeInstanceOf(ArchiveError);
    const target = { ...expected, listedSize: size };
    expect(await storedDamage(remote, settings, target, stores, failure.message)).toBe(true);
    // Another size than the listing's, or another failure: not the stored object's damage.
    expect(
      await storedDamage(remote, settings, { ...target, listedSize: size + 1 }, stores, failure.message),
    ).toBe(false);
    expect(await storedDamage(remote, settings, target, stores, "some other failure")).toBe(false);
    // An archive of another format is refused by this reader, not damaged: another kache may take it.
    const future = { ...metadataFor(expected, [{ name: "libdemo.rlib", bytes: body }]), format: 999 };
    writeArchive(objectPath, [
      ...member("kache.json", new TextEncoder().encode(JSON.stringify(future))),
      ...member("f0", body),
      endOfArchive(),
    ]);
    const refusal = await pullEntry(remote, settings, expected.crate, expected.key, stores).catch((e) => e);
    expect(refusal).toBeInstanceOf(ArchiveError);
    expect(refusal.message).toContain("archive format 999");
    const listedFuture = { ...target, listedSize: readFileSync(objectPath).length };
    expect(await storedDamage(remote, settings, listedFuture, stores, refusal.message)).toBe(false);
    // Fetched again, the object is good (the first body was spoiled on its way): stored, not damage.
    writeFileSync(objectPath, whole);
    expect(await storedDamage(remote, settings, target, stores, failure.message)).toBe(false);
    expect(b.index.getEntry(expected.key)).not.toBeNull();
    expect(readdirSync(join(b.dir, "tmp"))).toEqual([]);
  });
});

describe("hostile archives are refused and leave nothing behind", () => {
  const cases: [string, () => Uint8Array[], RegExp][] = [
    [
      "a member named ../x",
      () => [...member("kache.json", goodMetadata()), ...member("../f0", body), endOfArchive()],
      /name not accepted/,
    ],
    [
      "an absolute member name",
      () => [...member("kache.json", goodMetadata()), ...member("/etc/f0", body), endOfArchive()],
      /name not accepted/,
    ],
    [
      "a symlink member",
      () => [
        ...member("kache.json", goodMetadata()),
        ...member("f0", new Uint8Array(0), "2"),
        endOfArchive(),
      ],
      /type "2"/,
    ],
    [
      "a hardlink member",
      () => [
        ...member("kache.json", goodMetadata()),
        ...member("f0", new Uint8Array(0), "1"),
        endOfArchive(),
      ],
      /type "1"/,
    ],
    [
      "a device member",
      () => [
        ...member("kache.json", goodMetadata()),
        ...member("f0", new Uint8Array(0), "3"),
        endOfArchive(),
      ],
      /type "3"/,
    ],
    [
      "a pax header",
      () => [...member("kache.json", goodMetadata()), ...member("f0", body, "x"), endOfArchive()],
      /type "x"/,
    ],
    [
      "a path prefix",
      () => [...member("kache.json", goodMetadata()), ...member("f0", body, "0", "dir"), endOfArchive()],
      /prefix/,
    ],
    [
      "a duplicate member",
      () => [
        ...member("kache.json", goodMetadata()),
        ...member("f0", body),
        ...member("f0", body),
        endOfArchive(),
      ],
      /unexpected archive member/,
    ],
    [
      "files before the metadata",
      () => [...member("f0", body), ...member("kache.json", goodMetadata()), endOfArchive()],
      /not its metadata/,
    ],
    [
      "a member whose bytes do not match the hash",
      () => [
        ...member("kache.json", goodMetadata()),
        ...member("f0", new TextEncoder().encode("rlib bytez")),
        endOfArchive(),
      ],
      /does not match its hash/,
    ],
    [
      "a member larger than declared",
      () => [
        ...member("kache.json", goodMetadata()),
        ...member("f0", new TextEncoder().encode("rlib bytes and more")),
        endOfArchive(),
      ],
      /the metadata says/,
    ],
    [
      "a missing member",
      () => [...member("kache.json", goodMetadata()), endOfArchive()],
      /lacks some of its files/,
    ],
    [
      "no end of archive",
      () => [...member("kache.json", goodMetadata()), ...member("f0", body)],
      /ends early/,
    ],
    [
      "a file name that climbs out of the out-dir",
      () => [
        ...member(
          "kache.json",
          new TextEncoder().encode(
            JSON.stringify(metadataFor(expected, [{ name: "../../.bashrc", bytes: body }])),
          ),
        ),
        ...member("f0", body),
        endOfArchive(),
      ],
      /file name not accepted/,
    ],
    [
      "a huge declared size",
      () => {
        const metadata = metadataFor(expected, [{ name: "libdemo.rlib", bytes: body }]);
        metadata.files[0]!.size = 64 * 1024 ** 4;
        return [...member("kache.json", new TextEncoder().encode(JSON.stringify(metadata))), endOfArchive()];
      },
      /declares .* bytes, over/,
    ],
    [
      "metadata that is not JSON",
      () => [...member("kache.json", new TextEncoder().encode("{nope")), endOfArchive()],
      /not JSON/,
    ],
  ];
  for (const [name, parts, message] of cases) {
    test(name, async () => {
      const b = cacheDir();
      const archive = writeArchive(join(root, `${name.replace(/\W+/g, "-")}.tar.zst`), parts());
      await expect(unpackArchive(archive, b.blobs)).rejects.toThrow(message);
      expect(storeTemps(b.blobs)).toEqual([]);
      expect(existsInStore(b.blobs)).toEqual([]);
    });
  }

  test("a truncated archive", async () => {
    const b = cacheDir();
    const a = cacheDir();
    const archive = join(root, "whole.tar.zst");
    await packEntry(storedEntry(a), a.blobs, archive, 3);
    const bytes = readFileSync(archive);
    writeFileSync(archive, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(unpackArchive(archive, b.blobs)).rejects.toThrow(ArchiveError);
    expect(storeTemps(b.blobs)).toEqual([]);
  });

  test("a zstd frame that asks for a window over 128 MiB", async () => {
    const b = cacheDir();
    const big = new Uint8Array(300 * 1024 * 1024 + 1); // a window is only as large as the input needs
    const archive = writeArchive(
      join(root, "window.tar.zst"),
      [...member("kache.json", goodMetadata()), big],
      1,
      28,
    );
    await expect(unpackArchive(archive, b.blobs)).rejects.toThrow(/too much memory|window/i);
  });
});

function existsInStore(blobs: BlobStore): string[] {
  try {
    return readdirSync(blobs.root).filter((name) => !name.startsWith("."));
  } catch {
    return [];
  }
}
