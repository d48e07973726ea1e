// `kache doctor`'s store checks: blob modes always; with `--verify`, every blob re-hashed against its
// name and every entry's blobs present and whole. `--fix` drops what is damaged; the next build recompiles it.
import { chmodSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { BlobStore } from "../store/blobs";
import { type Entry, IndexDb } from "../store/index-db";
import { scanStore } from "../store/store-scan";
import { describeError } from "../util/errors";
import { hashFile } from "../util/hash";
import { formatBytes } from "../util/size";
import { check, count, type FixableCheck } from "./check-report";

interface BlobFile {
  hash: string;
  executable: boolean;
  path: string;
  mode: number;
  size: number;
}

function scanBlobs(store: BlobStore): BlobFile[] {
  return [...scanStore(dirname(store.root)).blobs].map(([name, file]) => ({
    hash: name.replace(/\.x$/, ""),
    executable: name.endsWith(".x"),
    path: file.path,
    mode: file.mode,
    size: file.size,
  }));
}

/**
 * The mode a blob should have, or null when it is fine. Executables and dep-info are kache's own
 * copies: read-only (blobs.ts). Other blobs are hardlinks of rustc's outputs and keep rustc's mode
 * (a chmod would change the file in target/ too), but never writable by every user.
 */
function wantedMode(blob: BlobFile, depInfo: Set<string>): number | null {
  if (blob.executable) return blob.mode & 0o222 ? 0o555 : null;
  if (depInfo.has(blob.hash)) return blob.mode & 0o222 ? 0o444 : null;
  return blob.mode & 0o002 ? blob.mode & ~0o002 : null;
}

function modeCheck(blobs: BlobFile[], entries: Entry[]): FixableCheck {
  const depInfo = new Set(
    entries.flatMap((entry) => entry.files.filter((f) => f.depInfo).map((f) => f.blob)),
  );
  const wrong = blobs.flatMap((blob) => {
    const mode = wantedMode(blob, depInfo);
    return mode === null ? [] : [{ blob, mode }];
  });
  if (wrong.length === 0)
    return check("blob modes", "ok", `${count(blobs.length, "blob")}, each with the mode it should have`);
  const shared = wrong.some(({ blob }) => blob.mode & 0o002);
  const example = wrong[0]!;
  const item = check(
    "blob modes",
    shared ? "problem" : "warn",
    `${count(wrong.length, "blob")} writable (${example.blob.path} is ${example.blob.mode.toString(8)}, ` +
      `should be ${example.mode.toString(8)})`,
    "run `kache doctor --fix`",
  );
  item.fix = () => {
    let fixed = 0;
    for (const { blob, mode } of wrong) {
      try {
        chmodSync(blob.path, mode);
        fixed += 1;
      } catch (error) {
        // a blob the store check just deleted, or gc removed meanwhile
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    return `set the mode of ${count(fixed, "blob")}`;
  };
  return item;
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}

function listed(names: string[], limit = 5): string {
  const unique = [...new Set(names)].sort();
  return unique.length > limit
    ? `${unique.slice(0, limit).join(", ")} and ${unique.length - limit} more`
    : unique.join(", ");
}

/** Re-hashes every blob; returns the checks for the blobs and for the entries that use them. */
function verifyChecks(
  cacheDir: string,
  store: BlobStore,
  blobs: BlobFile[],
  entries: Entry[],
): FixableCheck[] {
  const corrupt = blobs.filter((blob) => hashFile(blob.path) !== blob.hash);
  const bytes = blobs.reduce((sum, blob) => sum + blob.size, 0);
  const present = new Map(blobs.map((blob) => [blob.path, blob]));
  const bad = new Set(corrupt.map((blob) => blob.path));
  const damaged = entries.filter((entry) =>
    entry.files.some((file) => {
      const path = store.path(file.blob, file.executable && !file.depInfo);
      return present.get(path)?.size !== file.size || bad.has(path);
    }),
  );
  const blobCheck =
    corrupt.length === 0
      ? check(
          "blobs",
          "ok",
          `re-hashed ${count(blobs.length, "blob")} (${formatBytes(bytes)}): each matches its name`,
        )
      : check(
          "blobs",
          "problem",
          `${count(corrupt.length, "blob")} not matching its name: ${listed(corrupt.map((blob) => short(blob.hash)))}`,
          "run `kache doctor --fix` to delete them and drop the entries that use them",
        );
  if (corrupt.length > 0) {
    blobCheck.fix = () => {
      for (const blob of corrupt) store.discard(blob.hash, blob.executable);
      return `deleted ${count(corrupt.length, "corrupt blob")}`;
    };
  }
  if (damaged.length === 0)
    return [
      blobCheck,
      check("entries", "ok", `all ${count(entries.length, "entry")} have their blobs, whole`),
    ];
  const entryCheck = check(
    "entries",
    "problem",
    `${count(damaged.length, "entry")} with missing or corrupt blobs: ${listed(damaged.map((entry) => entry.crate))}`,
    "run `kache doctor --fix` to drop them; the next build compiles them again",
  );
  entryCheck.fix = () => {
    const index = IndexDb.open(cacheDir);
    try {
      for (const entry of damaged) index.deleteEntry(entry.key);
    } finally {
      index.close();
    }
    return `dropped ${count(damaged.length, "entry")} (${listed(damaged.map((entry) => entry.crate))}); the next build compiles them again`;
  };
  return [blobCheck, entryCheck];
}

/** Every entry; none when there is no index yet (opening one would create it, and a check creates nothing). */
function readEntries(cacheDir: string): Entry[] {
  if (!existsSync(join(cacheDir, "index.db"))) return [];
  const index = IndexDb.open(cacheDir);
  try {
    return index.allEntries();
  } finally {
    index.close();
  }
}

export function storeChecks(cacheDir: string, verify: boolean): FixableCheck[] {
  if (!existsSync(cacheDir)) return [check("store", "ok", "empty (no cache dir yet)")];
  let entries: Entry[];
  try {
    entries = readEntries(cacheDir);
  } catch (error) {
    return [check("store", "problem", `cannot read the index: ${describeError(error)}`, "see the message")];
  }
  const store = new BlobStore(cacheDir);
  const blobs = scanBlobs(store);
  const bytes = blobs.reduce((sum, blob) => sum + blob.size, 0);
  const used = new Set(entries.flatMap((entry) => entry.files.map((file) => file.blob)));
  const unused = blobs.filter((blob) => !used.has(blob.hash)).length;
  const detail = `${count(entries.length, "entry")}, ${count(blobs.length, "blob")}, ${formatBytes(bytes)}`;
  const summary = check(
    "store",
    "ok",
    unused ? `${detail}; ${unused} used by no entry (gc removes them)` : detail,
  );
  if (!verify) summary.hint = "`kache doctor --verify` re-hashes every blob";
  return [
    summary,
    modeCheck(blobs, entries),
    ...(verify ? verifyChecks(cacheDir, store, blobs, entries) : []),
  ];
}
