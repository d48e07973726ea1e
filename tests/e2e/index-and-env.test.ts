// Two ways the index could betray a build's history (SPEC §4, §3): an older kache meeting a newer
// index schema must leave it whole, and env-dep values rustc escapes in dep-info must still match the
// environment they came from, or such crates never get a direct-mode hit.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { kacheLogLines } from "./fault-support";
import {
  type CargoResult,
  cargo,
  copyFixture,
  newCacheDir,
  PATH_WS_OUTPUT,
  PATH_WS_UNITS,
  removeTarget,
  removeTempDirs,
  runBinary,
} from "./harness";

/** Far above any schema this kache (or the one before it) knows, so both take it for a newer one. */
const NEWER_SCHEMA = 99;

let workspace: string;
let cacheDir: string;

/** `cargo build` of the shared path-ws copy; asserts it succeeded. */
async function build(env: Record<string, string> = {}): Promise<CargoResult> {
  const result = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env });
  expect(result.code, result.stderr).toBe(0);
  return result;
}

function appOutput(): string {
  return runBinary(join(workspace, "target", "debug", "fixture_app")).trimEnd();
}

/** `<outcome>, prepass <bool>` of one crate's event in `result`. */
function unit(result: CargoResult, crate: string): string {
  const found = result.events.find((e) => e.crate === crate);
  if (!found) throw new Error(`no event for ${crate} in ${JSON.stringify(result.events)}`);
  return `${found.outcome}, prepass ${found.prepass}`;
}

interface IndexSnapshot {
  userVersion: number;
  schema: unknown[];
  rows: Record<string, string[]>;
}

/** Every row of one table, each as JSON, sorted: comparable whatever order SQLite returns them in. */
function tableRows(db: Database, table: string): string[] {
  return db
    .query(`SELECT * FROM "${table}"`)
    .all()
    .map((row) => JSON.stringify(row))
    .sort();
}

/** Everything in `<dir>/index.db`: its version, its tables' definitions and every row of each. */
function snapshotIndex(dir: string): IndexSnapshot {
  const db = new Database(join(dir, "index.db"), { readonly: true });
  try {
    const { user_version } = db.query("PRAGMA user_version").get() as { user_version: number };
    const schema = db.query("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").all();
    const tables = schema.filter((item) => (item as { type: string }).type === "table");
    const rows = Object.fromEntries(
      tables.map((table) => {
        const { name } = table as { name: string };
        return [name, tableRows(db, name)];
      }),
    );
    return { userVersion: user_version, schema, rows };
  } finally {
    db.close();
  }
}

/** The schema version and each table's row count: a short diff when a snapshot differs. */
function outline(snapshot: IndexSnapshot): Record<string, number> {
  const counts = Object.entries(snapshot.rows).map(([table, rows]) => [`${table} rows`, rows.length]);
  return { user_version: snapshot.userVersion, ...Object.fromEntries(counts) };
}

function setUserVersion(dir: string, version: number): void {
  const db = new Database(join(dir, "index.db"));
  try {
    db.run(`PRAGMA user_version = ${version}`);
  } finally {
    db.close();
  }
}

beforeAll(() => {
  workspace = copyFixture("path-ws");
  cacheDir = newCacheDir();
});
afterAll(removeTempDirs);

describe("env-dep values rustc escapes in dep-info", () => {
  // rustc writes `\n` as `\\n` and `\\` as `\\\\` in `# env-dep:` lines; the literal `\n` at the end
  // must come back as backslash-n, not as a newline.
  const TEXT = "two\nlines, a back\\slash and a literal \\n";
  const OTHER = "other\ntext \\ here";

  /** A build with KACHE_FIXTURE_NAME (read by fixture_core's option_env!) set to `value`. */
  async function buildWith(value: string): Promise<CargoResult> {
    const result = await build({ KACHE_FIXTURE_NAME: value });
    const expected = PATH_WS_OUTPUT.map((line) => (line.startsWith("env: ") ? `env: ${value}` : line));
    expect(appOutput()).toBe(expected.join("\n"));
    return result;
  }

  test("hit after rm -rf target, keyed from the manifest (no pre-pass)", async () => {
    expect(unit(await buildWith(TEXT), "fixture_core")).toBe("miss, prepass false");
    removeTarget(workspace);
    expect(unit(await buildWith(TEXT), "fixture_core")).toBe("local hit, prepass false");
  });

  test("a changed value misses, and changing it back hits", async () => {
    expect(unit(await buildWith(OTHER), "fixture_core")).toBe("miss, prepass false");
    expect(unit(await buildWith(TEXT), "fixture_core")).toBe("local hit, prepass false");
  });
});

// Runs last: it leaves the shared cache dir with an index this kache will not touch again.
describe("an index written by a newer kache", () => {
  test("is left alone: the build passes through with one warning and succeeds", async () => {
    await build();
    setUserVersion(cacheDir, NEWER_SCHEMA);
    const before = snapshotIndex(cacheDir);
    expect(before.rows.entries?.length).toBeGreaterThan(0);
    removeTarget(workspace);
    const result = await build();
    expect(appOutput()).toBe(PATH_WS_OUTPUT.join("\n"));
    const after = snapshotIndex(cacheDir);
    expect(outline(after)).toEqual(outline(before));
    expect(after).toEqual(before);
    const outcomes = result.events.map((e) => `${e.crate}: ${e.outcome} (${e.reason})`).sort();
    expect(outcomes).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: passthrough (index-newer)`));
    // One wrapper says why; the other units of the build stay quiet (rate-limited across processes).
    const warnings = kacheLogLines(result.stderr);
    expect(warnings.length, warnings.join("\n")).toBe(1);
    expect(warnings[0]).toContain(`index schema ${NEWER_SCHEMA}, newer than this kache understands`);
  });
});
