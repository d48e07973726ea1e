// `kache gc` and `kache purge` on real builds of path-ws: the store kept under its limit, by hand and
// by itself, --max-age, --dry-run, orphans, what pointed at evicted entries, and a purge that never
// reaches the remote.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { takeGcLock } from "../../src/store/gc";
import { cleanUpDaemons, kache, kacheEnv, privateKache, track, waitFor } from "./daemon-support";
import {
  blobFiles,
  blobsOfCrate,
  countRows,
  entriesMissingBlobs,
  indexRows,
  memo,
  runKache,
  sql,
  storeBytes,
  tempHome,
  waitForBackgroundGc,
} from "./gc-support";
import {
  cargo,
  copyFixture,
  hashTree,
  KACHE_BIN,
  makeTempDir,
  newCacheDir,
  PATH_WS_OUTPUT,
  PATH_WS_UNITS,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
  writeWhereami,
} from "./harness";
import { remoteConfig } from "./remote-support";

afterAll(removeTempDirs);

const MIB = 1024 * 1024;
const DAY = 86_400_000;
const home = tempHome();
let seedCache = "";

beforeAll(async () => {
  seedCache = newCacheDir();
  const built = await cargo(["build", "--locked"], {
    cwd: copyFixture("path-ws"),
    cacheDir: seedCache,
    env: home,
  });
  expect(built.code, built.stderr).toBe(0);
  expect(summarise(built.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
}, 120_000);

/** A cache holding path-ws's five entries (a copy of the one built once), and a fresh checkout. */
function seeded(): { cacheDir: string; workspace: string } {
  const cacheDir = newCacheDir();
  cpSync(seedCache, cacheDir, { recursive: true });
  return { cacheDir, workspace: copyFixture("path-ws") };
}

function build(workspace: string, cacheDir: string, env: Record<string, string> = {}) {
  return cargo(["build", "--locked"], { cwd: workspace, cacheDir, env: { ...home, ...env } });
}

function expectAppRuns(workspace: string): void {
  expect(runBinary(join(workspace, "target/debug/fixture_app")).trim().split("\n")).toEqual(PATH_WS_OUTPUT);
}

function outcomes(events: { crate?: string; outcome?: string }[]): Record<string, string> {
  return Object.fromEntries(events.map((event) => [event.crate, event.outcome]));
}

test("with KACHE_MAX_SIZE=1MiB a build starts gc by itself, kache gc ends under 90% of it, the next build is right", async () => {
  const cacheDir = newCacheDir();
  const workspace = copyFixture("path-ws");
  const small = { KACHE_MAX_SIZE: "1MiB" };
  const first = await build(workspace, cacheDir, small);
  expect(first.code, first.stderr).toBe(0);
  // A miss found the store over 110% of the limit and started `kache gc --background`.
  const log = join(cacheDir, "gc.log");
  await waitFor(
    "the build's gc to report",
    () => existsSync(log) && /^store now: .* of 1 MiB/m.test(readFileSync(log, "utf8")),
    30_000,
  );
  await waitForBackgroundGc(cacheDir);

  const gc = await runKache(["gc"], cacheDir, { ...home, ...small });
  expect(gc.code, gc.stderr).toBe(0);
  expect(gc.stdout).toMatch(/^store now: .* of 1 MiB \(\d+%\)/m);
  expect(storeBytes(cacheDir)).toBeLessThanOrEqual(0.9 * MIB);
  expect(entriesMissingBlobs(cacheDir)).toEqual([]);
  // The running total a wrapper compares with the limit is the store as it is on disk.
  expect(Number(memo(cacheDir, "store-bytes"))).toBe(storeBytes(cacheDir));

  removeTarget(workspace);
  const second = await build(workspace, cacheDir, small);
  expect(second.code, second.stderr).toBe(0);
  expectAppRuns(workspace);
  const kept = indexRows(cacheDir).length;
  expect(kept).toBeGreaterThan(0);
  expect(second.events.some((event) => event.outcome === "local hit")).toBe(true);
  expect(second.events.some((event) => event.outcome === "miss")).toBe(true);
}, 120_000);

test("--dry-run lists what would go and removes nothing", async () => {
  const { cacheDir } = seeded();
  const before = { blobs: hashTree(join(cacheDir, "store")), rows: indexRows(cacheDir) };
  const dry = await runKache(["gc", "--dry-run"], cacheDir, { ...home, KACHE_MAX_SIZE: "1MiB" });
  expect(dry.code, dry.stderr).toBe(0);
  const listed = dry.stdout.match(/^ {2}evicted +fixture_\w+|^ {2}evicted +build_script_build/gm) ?? [];
  expect(listed.length).toBeGreaterThan(0);
  expect(dry.stdout).toContain(`would remove ${listed.length} ${listed.length === 1 ? "entry" : "entries"}`);
  expect(dry.stdout).toMatch(/^store would be: .* of 1 MiB/m);
  const json = await runKache(["gc", "--dry-run", "--json"], cacheDir, { ...home, KACHE_MAX_SIZE: "1MiB" });
  const report = JSON.parse(json.stdout);
  expect(report.dryRun).toBe(true);
  expect(report.removed.length).toBe(listed.length);
  expect(report.afterBytes).toBeLessThanOrEqual(0.9 * MIB);
  expect(hashTree(join(cacheDir, "store"))).toEqual(before.blobs);
  expect(indexRows(cacheDir)).toEqual(before.rows);
}, 120_000);

describe("--max-age", () => {
  test("evicts exactly the entries unused for longer; input lists of the rest stay, so they hit without a pre-pass", async () => {
    const { cacheDir, workspace } = seeded();
    const old = Date.now() - 40 * DAY;
    expect(
      sql(cacheDir, "UPDATE entries SET last_used = ? WHERE crate IN ('fixture_core', 'fixture_noisy')", old),
    ).toBe(2);
    // Input lists recorded two hours ago: past the grace that protects those of builds in progress.
    sql(cacheDir, "UPDATE manifests SET updated = updated - ?", 2 * 3_600_000);
    const manifestsBefore = countRows(cacheDir, "manifests");
    const coreBlobs = blobsOfCrate(cacheDir, "fixture_core");
    const gc = await runKache(["gc", "--max-age", "30d"], cacheDir, home);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toContain("removed 2 entries (2 expired)");
    expect(
      indexRows(cacheDir)
        .map((row) => row.crate)
        .sort(),
    ).toEqual(PATH_WS_UNITS.filter((crate) => crate !== "fixture_core" && crate !== "fixture_noisy"));
    expect(coreBlobs.filter(existsSync)).toEqual([]);
    expect(countRows(cacheDir, "manifests")).toBe(manifestsBefore - 2);
    expect(entriesMissingBlobs(cacheDir)).toEqual([]);

    const next = await build(workspace, cacheDir);
    expect(next.code, next.stderr).toBe(0);
    expect(outcomes(next.events)).toEqual({
      build_script_build: "local hit",
      fixture_app: "miss", // it links the recompiled fixture_core
      fixture_core: "miss",
      fixture_macros: "local hit",
      fixture_noisy: "miss",
    });
    const hits = next.events.filter((event) => event.outcome === "local hit");
    expect(hits.every((event) => event.prepass === false)).toBe(true);
    expectAppRuns(workspace);
  }, 120_000);

  test("a bad duration is bad usage: exit 2 and one line saying the valid form", async () => {
    const gc = await runKache(["gc", "--max-age", "soon"], newCacheDir(), home);
    expect(gc.code).toBe(2);
    expect(gc.stderr.trim().split("\n")).toHaveLength(1);
    expect(gc.stderr).toContain('invalid duration "soon"');
    expect(gc.stderr).toContain("30m, 24h, 7d");
  }, 120_000);
});

/** A crate whose binary embeds its checkout path: cached for that location only, with a marker row. */
function whereami(parent: string): string {
  const dir = join(parent, "whereami");
  writeWhereami(dir);
  return dir;
}

test("evicting location-bound entries drops their marker only with the last of them; a lookup then misses, never breaks", async () => {
  const cacheDir = newCacheDir();
  const first = whereami(makeTempDir());
  const second = whereami(join(makeTempDir(), "elsewhere"));
  for (const dir of [first, second])
    expect((await cargo(["build"], { cwd: dir, cacheDir, env: home })).code).toBe(0);
  const rows = () => indexRows(cacheDir).filter((row) => row.crate === "whereami");
  expect(rows().filter((row) => row.bound_to).length).toBe(1);
  const bound = rows().filter((row) => !row.bound_to);
  expect(bound.length).toBe(2);
  sql(cacheDir, "UPDATE manifests SET updated = updated - ?", 2 * 3_600_000);

  // The first checkout's entry goes; the marker stays for the second's.
  const [older, newer] = bound.sort((a, b) => a.last_used - b.last_used);
  sql(cacheDir, "UPDATE entries SET last_used = ? WHERE key = ?", Date.now() - 40 * DAY, older!.key);
  let gc = await runKache(["gc", "--max-age", "30d"], cacheDir, home);
  expect(gc.stdout).toContain("removed 1 entry (1 expired)");
  expect(rows().filter((row) => row.bound_to).length).toBe(1);
  expect(countRows(cacheDir, "manifests")).toBeGreaterThan(0);

  // The second's goes too: now the marker and the input lists lead nowhere, and go with it.
  sql(cacheDir, "UPDATE entries SET last_used = ? WHERE key = ?", Date.now() - 40 * DAY, newer!.key);
  gc = await runKache(["gc", "--max-age", "30d"], cacheDir, home);
  expect(gc.stdout).toMatch(/removed 1 location marker, [1-9]\d* input lists? no entry uses/);
  expect(rows()).toEqual([]);
  expect(countRows(cacheDir, "manifests")).toBe(0);

  for (const dir of [first, second]) {
    removeTarget(dir);
    const again = await cargo(["build"], { cwd: dir, cacheDir, env: home });
    expect(again.code, again.stderr).toBe(0);
    expect(outcomes(again.events)).toEqual({ whereami: "miss" });
    expect(runBinary(join(dir, "target/debug/whereami")).trim()).toBe(dir);
  }
}, 120_000);

test("orphan blobs and temp files go after an hour; young ones, which a store in progress may own, stay", async () => {
  const { cacheDir } = seeded();
  const old = new Date(Date.now() - 2 * 3_600_000);
  const plant = (path: string, bytes: number, aged: boolean) => {
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, Buffer.alloc(bytes, 7));
    if (aged) utimesSync(path, old, old);
    return path;
  };
  const oldOrphan = plant(join(cacheDir, "store", "ab", `ab${"0".repeat(62)}`), 5000, true);
  const youngOrphan = plant(join(cacheDir, "store", "cd", `cd${"1".repeat(62)}.x`), 3000, false);
  const oldTemp = plant(join(cacheDir, "store", ".tmp-1-1-1"), 100, true);
  const oldDownload = plant(join(cacheDir, "tmp", "remote-1-1-1.tar.zst"), 200, true);
  const rows = indexRows(cacheDir);
  const gc = await runKache(["gc"], cacheDir, home);
  expect(gc.code, gc.stderr).toBe(0);
  expect(gc.stdout).toContain("removed 0 entries");
  expect(gc.stdout).toContain("removed 1 orphan blob (5.0 KB), 2 temp files (300 B)");
  expect([oldOrphan, oldTemp, oldDownload].filter(existsSync)).toEqual([]);
  expect(existsSync(youngOrphan)).toBe(true);
  expect(indexRows(cacheDir)).toEqual(rows);
  expect(entriesMissingBlobs(cacheDir)).toEqual([]);
  expect(Number(memo(cacheDir, "store-bytes"))).toBe(storeBytes(cacheDir));
}, 120_000);

test("the daemon runs gc when it starts", async () => {
  const { cacheDir } = seeded();
  const bin = privateKache();
  const env = { ...home, KACHE_MAX_SIZE: "1MiB" };
  track(bin, cacheDir);
  try {
    const started = await kache(bin, ["daemon", "start"], cacheDir, { env });
    expect(started.code, started.stderr).toBe(0);
    const log = join(cacheDir, "gc.log");
    await waitFor(
      "the daemon's gc to report",
      () => existsSync(log) && /^store now/m.test(readFileSync(log, "utf8")),
      30_000,
    );
    await waitForBackgroundGc(cacheDir);
    expect(storeBytes(cacheDir)).toBeLessThanOrEqual(0.9 * MIB);
    expect(readFileSync(join(cacheDir, "daemon.log"), "utf8")).toMatch(/started gc \(pid \d+\)/);
  } finally {
    await cleanUpDaemons();
  }
}, 120_000);

describe("only one gc at a time", () => {
  test("a background gc gives way to a running one; a gc by hand waits for it", async () => {
    const { cacheDir } = seeded();
    const lock = (await takeGcLock(cacheDir, 0))!;
    expect(lock).not.toBeNull();
    const background = await runKache(["gc", "--background"], cacheDir, { ...home, KACHE_MAX_SIZE: "1" });
    expect(background.code).toBe(0);
    expect(background.stdout).toContain("another gc of this cache is running; nothing to do");
    expect(indexRows(cacheDir).length).toBe(PATH_WS_UNITS.length);

    const byHand = Bun.spawn([KACHE_BIN, "gc"], {
      env: kacheEnv(cacheDir, { ...home, KACHE_MAX_SIZE: "1" }),
      stdout: "pipe",
      stderr: "pipe",
    });
    await Bun.sleep(700);
    expect(byHand.exitCode).toBeNull(); // still waiting
    expect(indexRows(cacheDir).length).toBe(PATH_WS_UNITS.length);
    lock.release();
    expect(await byHand.exited).toBe(0);
    expect(await new Response(byHand.stderr).text()).toContain("waiting for another gc");
    expect(await new Response(byHand.stdout).text()).toMatch(/removed 5 entries \(5 evicted\)/);
    expect(blobFiles(cacheDir)).toEqual([]);
  }, 120_000);
});

describe("kache purge", () => {
  test("refuses without a terminal or --yes (exit 2); --crate-name takes one crate's entries only", async () => {
    const { cacheDir, workspace } = seeded();
    const refused = await runKache(["purge"], cacheDir, home);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toContain("--yes");
    expect(indexRows(cacheDir).length).toBe(PATH_WS_UNITS.length);

    const one = await runKache(["purge", "--crate-name", "fixture-core", "--yes"], cacheDir, home);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain("purged 1 entry");
    expect(
      indexRows(cacheDir)
        .map((row) => row.crate)
        .sort(),
    ).toEqual(PATH_WS_UNITS.filter((crate) => crate !== "fixture_core"));
    expect(entriesMissingBlobs(cacheDir)).toEqual([]);
    const next = await build(workspace, cacheDir);
    expect(outcomes(next.events).fixture_core).toBe("miss");
    expect(outcomes(next.events).fixture_macros).toBe("local hit");
    expectAppRuns(workspace);
  }, 120_000);

  test("on a terminal it asks; yes removes every local entry and blob, and the remote keeps all it had", async () => {
    const { cacheDir, workspace } = seeded();
    const bucket = makeTempDir("kache-e2e-bucket-");
    const env = { ...home, KACHE_CONFIG: remoteConfig({ type: "filesystem", path: bucket }) };
    const pushed = await runKache(["sync", "--push"], cacheDir, env);
    expect(pushed.code, pushed.stderr).toBe(0);
    const remoteBefore = hashTree(bucket);
    expect(Object.keys(remoteBefore).length).toBeGreaterThanOrEqual(PATH_WS_UNITS.length);

    const onTerminal = (answer: string) =>
      Bun.spawnSync(["sh", "-c", `printf '${answer}\\n' | script -qfec "${KACHE_BIN} purge" /dev/null`], {
        env: kacheEnv(cacheDir, env),
        stdout: "pipe",
        stderr: "pipe",
      });
    const no = onTerminal("n");
    expect(no.stdout.toString()).toMatch(
      /Remove 5 entries \(.*\) from .*\? The remote cache is not touched\. \[y\/N\]/,
    );
    expect(no.stdout.toString()).toContain("nothing purged");
    expect(indexRows(cacheDir).length).toBe(PATH_WS_UNITS.length);

    const yes = onTerminal("y");
    expect(yes.exitCode).toBe(0);
    expect(yes.stdout.toString()).toContain("purged 5 entries");
    expect(indexRows(cacheDir)).toEqual([]);
    expect(blobFiles(cacheDir)).toEqual([]);
    expect(hashTree(bucket)).toEqual(remoteBefore);

    // What the remote kept comes back.
    const pulled = await runKache(["sync", "--pull", "--all"], cacheDir, env);
    expect(pulled.code, pulled.stderr).toBe(0);
    const next = await build(workspace, cacheDir);
    expect(summarise(next.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
    expectAppRuns(workspace);
  }, 120_000);
});

test("clean_incremental: gc removes a crate's incremental dir idle for a week, never one rustc holds or used lately", async () => {
  const cacheDir = newCacheDir();
  const workspace = copyFixture("path-ws");
  expect((await build(workspace, cacheDir)).code).toBe(0);
  const root = join(workspace, "target/debug/incremental");
  const dirs = readdirSync(root).sort();
  const byCrate = (crate: string) => join(root, dirs.find((name) => name.startsWith(`${crate}-`))!);
  const idle = byCrate("fixture_core");
  const held = byCrate("fixture_noisy");
  const recent = byCrate("fixture_app");
  const weekAgo = new Date(Date.now() - 8 * DAY);
  for (const dir of [idle, held]) {
    for (const name of readdirSync(dir)) utimesSync(join(dir, name), weekAgo, weekAgo);
    utimesSync(dir, weekAgo, weekAgo);
  }
  // A compile in progress holds its session's lock (flock, as rustc takes it on Linux).
  const { flockLock } = await import("../../src/store/kernel-lock");
  const sessionLock = readdirSync(held).find((name) => name.endsWith(".lock"))!;
  const rustcHolds = flockLock("session", join(held, sessionLock))!;
  try {
    const off = await runKache(["gc"], cacheDir, { ...home, KACHE_CLEAN_INCREMENTAL: "0" });
    expect(off.stdout).not.toContain("incremental dir");
    expect(existsSync(idle)).toBe(true);
    const gc = await runKache(["gc"], cacheDir, home);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toMatch(new RegExp(`removed incremental dir ${idle} \\(`));
    expect(existsSync(idle)).toBe(false);
    expect(existsSync(held)).toBe(true);
    expect(existsSync(recent)).toBe(true);
    expect(readdirSync(root).filter((name) => name.includes("kache-removing"))).toEqual([]);
  } finally {
    rustcHolds.release();
  }
  const next = await build(workspace, cacheDir);
  expect(next.code, next.stderr).toBe(0);
  expectAppRuns(workspace);
}, 120_000);
