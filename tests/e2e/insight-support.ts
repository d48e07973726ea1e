// Helpers for the insight e2e tests: run dist/kache in a temp HOME (or under a pseudo-terminal), read
// the index and the store as the test's own witness, copy and rewrite an event log, find markdown tables.
import { Database } from "bun:sqlite";
import { expect } from "bun:test";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KACHE_BIN, type KacheEvent, newCacheDir } from "./harness";

export const ESCAPE = "\x1b[";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The caller's environment without kache's variables, GITHUB_STEP_SUMMARY or NO_COLOR. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (
      value !== undefined &&
      !name.startsWith("KACHE_") &&
      !["GITHUB_STEP_SUMMARY", "NO_COLOR"].includes(name)
    )
      env[name] = value;
  return env;
}

function homeEnv(home: string, cacheDir: string, env: Record<string, string>): Record<string, string> {
  return {
    ...cleanEnv(),
    HOME: home,
    CARGO_HOME: join(home, ".cargo"),
    XDG_CONFIG_HOME: join(home, ".config"),
    KACHE_CACHE_DIR: cacheDir,
    ...env,
  };
}

/** Runs dist/kache in `home` on `cacheDir`, with only the extra variables given. */
export function runKache(home: string, cacheDir: string, args: string[], env: Record<string, string>): Run {
  const result = Bun.spawnSync([KACHE_BIN, ...args], {
    cwd: home,
    env: homeEnv(home, cacheDir, env),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** Runs a `--json` command, expects exit 0 and returns the parsed document. */
export function kacheJson(home: string, cacheDir: string, args: string[], env: Record<string, string>) {
  const run = runKache(home, cacheDir, args, env);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

/** What a pseudo-terminal (`script`) received from kache; NO_COLOR only when given. */
export function runOnTerminal(
  home: string,
  cacheDir: string,
  args: string[],
  env: Record<string, string>,
): string {
  const command = [KACHE_BIN, ...args].map((arg) => `'${arg}'`).join(" ");
  const result = Bun.spawnSync(["script", "-qfec", command, "/dev/null"], {
    env: homeEnv(home, cacheDir, env),
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(result.exitCode, result.stderr.toString()).toBe(0);
  return result.stdout.toString();
}

export const isHit = (event: KacheEvent) => String(event.outcome).endsWith("hit");
export const num = (value: unknown) => Number(value ?? 0);

export interface IndexRow {
  key: string;
  crate: string;
  size: number;
  hits: number;
  files: string;
  bound_to: string | null;
}

/** The index's entries (not the location markers), read with SQLite directly. */
export function readIndexRows(cacheDir: string): IndexRow[] {
  const db = new Database(join(cacheDir, "index.db"), { readonly: true });
  try {
    return db
      .query("SELECT key, crate, size, hits, files, bound_to FROM entries WHERE bound_to IS NULL")
      .all() as IndexRow[];
  } finally {
    db.close();
  }
}

/** Bytes of the blobs under store/<fan-out>/. */
export function storeBytes(cacheDir: string): number {
  const root = join(cacheDir, "store");
  let bytes = 0;
  for (const fan of readdirSync(root).filter((name) => /^[0-9a-f]{2}$/.test(name)))
    for (const blob of readdirSync(join(root, fan))) bytes += statSync(join(root, fan, blob)).size;
  return bytes;
}

export type EventsEdit = (lines: string[]) => { current: string; rotated?: string };

/** A new cache dir holding only a copy of `cacheDir`'s events, rewritten by `edit`. */
export function copyEvents(cacheDir: string, edit: EventsEdit): string {
  const dir = newCacheDir();
  const lines = readFileSync(join(cacheDir, "events.jsonl"), "utf8").trimEnd().split("\n");
  const { current, rotated } = edit(lines);
  writeFileSync(join(dir, "events.jsonl"), current);
  if (rotated !== undefined) writeFileSync(join(dir, "events.jsonl.1"), rotated);
  return dir;
}

/** The markdown tables of a document: each its header row and its rows (the `|---|` separator checked). */
export function markdownTables(text: string): string[][] {
  const tables: string[][] = [];
  const lines = text.split("\n");
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!/^\|.*\|$/.test(lines[i]!) || !/^\|(?: ?:?-{3,}:? ?\|)+$/.test(lines[i + 1]!)) continue;
    const table = [lines[i]!];
    for (let j = i + 2; j < lines.length && lines[j]!.startsWith("|"); j++) table.push(lines[j]!);
    tables.push(table);
  }
  return tables;
}
