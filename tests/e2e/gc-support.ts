// Helpers of the gc e2e tests: a temp HOME, running kache commands in it, and reading the store
// and index as they are on disk (never through gc's own code).
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { kache, type RunResult } from "./daemon-support";
import { KACHE_BIN, makeTempDir } from "./harness";

/** HOME and CARGO_HOME in a temp dir; rustup's toolchains are read (only) from where they are. */
export function tempHome(): Record<string, string> {
  const home = makeTempDir("kache-e2e-home-");
  return {
    HOME: home,
    CARGO_HOME: join(home, ".cargo"),
    RUSTUP_HOME: process.env.RUSTUP_HOME ?? join(homedir(), ".rustup"),
  };
}

export function runKache(
  args: string[],
  cacheDir: string,
  env: Record<string, string | undefined>,
): Promise<RunResult> {
  return kache(KACHE_BIN, args, cacheDir, { env, timeoutMs: 120_000 });
}

/** Bytes of every blob file under `<cache>/store/xx/`. */
export function storeBytes(cacheDir: string): number {
  return blobFiles(cacheDir).reduce((sum, path) => sum + statSync(path).size, 0);
}

export function blobFiles(cacheDir: string): string[] {
  const root = join(cacheDir, "store");
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => /^[0-9a-f]{2}$/.test(name))
    .flatMap((shard) => readdirSync(join(root, shard)).map((name) => join(root, shard, name)));
}

export interface Row {
  key: string;
  crate: string;
  files: { name: string; blob: string; executable: boolean; depInfo: boolean }[];
  last_used: number;
  bound_to: string | null;
}

function openIndex(cacheDir: string): Database {
  return new Database(join(cacheDir, "index.db"), { readwrite: true, create: false });
}

export function indexRows(cacheDir: string): Row[] {
  const db = openIndex(cacheDir);
  try {
    const rows = db.query("SELECT key, crate, files, last_used, bound_to FROM entries").all() as (Omit<
      Row,
      "files"
    > & { files: string })[];
    return rows.map((row) => ({ ...row, files: JSON.parse(row.files) }));
  } finally {
    db.close();
  }
}

/** Runs SQL against the index (to make entries look old: nobody can wait a month in a test). */
export function sql(cacheDir: string, statement: string, ...params: (string | number)[]): number {
  const db = openIndex(cacheDir);
  try {
    return db.query(statement).run(...params).changes;
  } finally {
    db.close();
  }
}

export function memo(cacheDir: string, name: string): string | null {
  const db = openIndex(cacheDir);
  try {
    const row = db.query("SELECT value FROM memo WHERE name = ?").get(name) as { value: string } | null;
    return row?.value ?? null;
  } finally {
    db.close();
  }
}

export function countRows(cacheDir: string, table: "entries" | "manifests"): number {
  const db = openIndex(cacheDir);
  try {
    return (db.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function blobPath(cacheDir: string, file: Row["files"][number]): string {
  const name = file.executable && !file.depInfo ? `${file.blob}.x` : file.blob;
  return join(cacheDir, "store", file.blob.slice(0, 2), name);
}

/** Entries (by crate) with a file whose blob is not on disk: what a later hit would fail on. */
export function entriesMissingBlobs(cacheDir: string): string[] {
  return indexRows(cacheDir)
    .filter((row) => row.files.some((file) => !existsSync(blobPath(cacheDir, file))))
    .map((row) => row.crate);
}

/** Blob files the entries of `crate` use. */
export function blobsOfCrate(cacheDir: string, crate: string): string[] {
  return indexRows(cacheDir)
    .filter((row) => row.crate === crate)
    .flatMap((row) => row.files.map((file) => blobPath(cacheDir, file)));
}

/** Live `kache gc --background` processes started for `cacheDir` (Linux /proc). */
export function backgroundGcPids(cacheDir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (!argv.includes("gc") || !argv.includes("--background")) continue;
      const environ = readFileSync(`/proc/${name}/environ`, "utf8").split("\0");
      if (environ.includes(`KACHE_CACHE_DIR=${cacheDir}`)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Waits (at most `timeoutMs`) until no background gc runs for `cacheDir`. */
export async function waitForBackgroundGc(cacheDir: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (backgroundGcPids(cacheDir).length > 0) {
    if (Date.now() > deadline) throw new Error(`a background gc of ${cacheDir} is still running`);
    await Bun.sleep(20);
  }
}
