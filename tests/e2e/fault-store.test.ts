// Fault injection into the local store (SPEC §2 Transparency, §4): damaged blobs, lost or corrupt index,
// an unwritable cache dir. Each build must still succeed with the right program, say what went wrong, and heal.
import { afterAll, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { blobPath, cleanBuild, corruptBlobs, indexEntries, kacheLogLines } from "./fault-support";
import { type CargoResult, copyFixture, newCacheDir, removeTempDirs } from "./harness";

afterAll(removeTempDirs);

const TIMEOUT = 180_000;
/** Wrapped rustc calls of a path-ws build: build_script_build, fixture_macros, fixture_noisy, fixture_core, fixture_app. */
const UNITS = 5;
/**
 * Plain compiles: an incremental compile names its objects per session, so a recompiled fixture_core
 * would give fixture_app other link inputs and a miss too; healing is about the store, not that.
 */
const PLAIN = { CARGO_INCREMENTAL: "0" };

/** A path-ws copy and a cache from which a clean build is all local hits. */
async function warmCache(): Promise<{ workspace: string; cacheDir: string }> {
  const workspace = copyFixture("path-ws");
  const cacheDir = newCacheDir();
  await cleanBuild(workspace, cacheDir, PLAIN);
  const warm = await cleanBuild(workspace, cacheDir, PLAIN);
  expect(warm.outcomes["local hit"], warm.stderr).toBe(UNITS);
  return { workspace, cacheDir };
}

function outcomeOf(result: CargoResult, crate: string): string | undefined {
  return result.lines.find((line) => line.crate === crate)?.outcome;
}

/** The next clean build is served entirely from the cache, and every blob matches its name. */
async function expectHealthy(workspace: string, cacheDir: string): Promise<void> {
  const again = await cleanBuild(workspace, cacheDir, PLAIN);
  expect(again.outcomes, again.stderr).toMatchObject({ "local hit": UNITS, miss: 0, passthrough: 0 });
  expect(kacheLogLines(again.stderr)).toEqual([]);
  expect(corruptBlobs(cacheDir)).toEqual([]);
}

function coreRlib(cacheDir: string) {
  const entry = indexEntries(cacheDir).find(
    (e) => e.crate === "fixture_core" && e.files.some((f) => f.name.endsWith(".rlib")),
  );
  expect(entry).toBeDefined();
  return entry!.files.find((f) => f.name.endsWith(".rlib"))!;
}

for (const [damage, inflict] of [
  ["truncated", (path: string, size: number) => truncateSync(path, Math.floor(size / 2))],
  ["deleted", (path: string) => rmSync(path)],
] as const) {
  test(
    `a ${damage} blob is reported, the crate recompiles, and the cache heals`,
    async () => {
      const { workspace, cacheDir } = await warmCache();
      rmSync(join(workspace, "target"), { recursive: true, force: true }); // blobs may be hardlinked there
      const rlib = coreRlib(cacheDir);
      inflict(blobPath(cacheDir, rlib), rlib.size);

      const damaged = await cleanBuild(workspace, cacheDir, PLAIN);
      expect(outcomeOf(damaged, "fixture_core"), damaged.stderr).toBe("miss");
      expect(damaged.outcomes["local hit"], damaged.stderr).toBe(UNITS - 1);
      const warnings = kacheLogLines(damaged.stderr);
      expect(warnings.some((line) => /^kache warn: .*fixture_core.*(missing|truncated)/.test(line))).toBe(
        true,
      );
      expect(warnings.some((line) => line.includes(rlib.blob) || line.includes(rlib.name))).toBe(true);

      await expectHealthy(workspace, cacheDir);
    },
    TIMEOUT,
  );
}

test(
  "a deleted index.db (with -wal/-shm) means misses, then hits again",
  async () => {
    const { workspace, cacheDir } = await warmCache();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(join(cacheDir, `index.db${suffix}`), { force: true });

    const rebuilt = await cleanBuild(workspace, cacheDir, PLAIN);
    expect(rebuilt.outcomes, rebuilt.stderr).toMatchObject({ "local hit": 0, miss: UNITS, passthrough: 0 });
    expect(kacheLogLines(rebuilt.stderr)).toEqual([]);

    await expectHealthy(workspace, cacheDir);
  },
  TIMEOUT,
);

const GARBAGE = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919 + 13) % 251));

for (const [kind, garble] of [
  ["garbage bytes", (path: string) => writeFileSync(path, GARBAGE)],
  // A real SQLite header over garbage pages: opening works, the first query finds the damage.
  [
    "a valid header over garbage pages",
    (path: string) => writeFileSync(path, Buffer.concat([readFileSync(path).subarray(0, 100), GARBAGE])),
  ],
] as const) {
  test(
    `an index.db overwritten with ${kind} is reported and replaced`,
    async () => {
      const { workspace, cacheDir } = await warmCache();
      const index = join(cacheDir, "index.db");
      rmSync(`${index}-wal`, { force: true }); // the warm builds' writes may still sit in the WAL: drop them
      rmSync(`${index}-shm`, { force: true });
      garble(index);

      const rebuilt = await cleanBuild(workspace, cacheDir, PLAIN);
      const warnings = kacheLogLines(rebuilt.stderr);
      expect(
        warnings.some((line) => /^kache warn: .*index.*corrupt/i.test(line)),
        rebuilt.stderr,
      ).toBe(true);
      expect(rebuilt.outcomes, rebuilt.stderr).toMatchObject({ "local hit": 0, miss: UNITS, passthrough: 0 });
      // Moved aside once, not once per racing wrapper (which would throw away a fresh index).
      // The -wal and -shm files go aside with it, under its name plus their suffix.
      const aside = readdirSync(cacheDir).filter((name) => /^index\.db\.corrupt-\d+-\d+$/.test(name));
      expect(aside.length).toBe(1);

      await expectHealthy(workspace, cacheDir);
    },
    TIMEOUT,
  );
}

function chattr(flag: "+i" | "-i", path: string, recursive = false): void {
  const result = Bun.spawnSync(["chattr", ...(recursive ? ["-R"] : []), flag, path], { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`chattr ${flag} ${path}: ${result.stderr.toString()}`);
}

test(
  "an unwritable (immutable) empty cache dir: every unit passes through with a warning",
  async () => {
    const workspace = copyFixture("path-ws");
    const cacheDir = join(newCacheDir(), "cache");
    mkdirSync(cacheDir);
    chattr("+i", cacheDir);
    try {
      const result = await cleanBuild(workspace, cacheDir, PLAIN);
      expect(result.outcomes, result.stderr).toMatchObject({ passthrough: UNITS, miss: 0, "local hit": 0 });
      expect(result.lines.every((line) => line.detail === "cache-error")).toBe(true);
      expect(kacheLogLines(result.stderr).some((line) => /^kache warn: cache unavailable/.test(line))).toBe(
        true,
      );
      expect(readdirSync(cacheDir)).toEqual([]);
    } finally {
      chattr("-i", cacheDir);
    }
  },
  TIMEOUT,
);

test(
  "a warm cache made immutable (chattr -R +i): the build succeeds and the cache works once writable",
  async () => {
    const { workspace, cacheDir } = await warmCache();
    rmSync(join(workspace, "target"), { recursive: true, force: true }); // before the blobs' inodes turn immutable
    chattr("+i", cacheDir, true);
    try {
      const result = await cleanBuild(workspace, cacheDir, PLAIN);
      expect(result.lines.length, result.stderr).toBe(UNITS);
      // Whatever kache did (read-only hits or pass-through), a problem it met is said on stderr.
      const troubled = result.lines.some((line) => line.outcome !== "local hit");
      if (troubled) expect(kacheLogLines(result.stderr).length, result.stderr).toBeGreaterThan(0);
    } finally {
      chattr("-i", cacheDir, true);
    }
    await expectHealthy(workspace, cacheDir);
  },
  TIMEOUT,
);

test("chattr is usable here (the immutable-dir tests rely on it)", () => {
  const dir = newCacheDir();
  chattr("+i", dir);
  try {
    expect(() => mkdirSync(join(dir, "x"))).toThrow();
  } finally {
    chattr("-i", dir);
  }
  expect(existsSync(join(dir, "x"))).toBe(false);
});
