// Bad input to kache (SPEC §2, §5, §6): malformed config files, a rustc flag kache does not model,
// KACHE_DISABLED. The build always compiles; kache says once per build, on one line, what was wrong.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanBuild, kacheLogLines } from "./fault-support";
import { type CargoResult, cargo, copyFixture, newCacheDir, readEvents, removeTempDirs } from "./harness";

afterAll(removeTempDirs);

const TIMEOUT = 180_000;
const UNITS = 5;

/** kache's log lines, each once. */
function distinctLogLines(result: CargoResult): string[] {
  return [...new Set(kacheLogLines(result.stderr))];
}

const CONFIG_CASES = [
  {
    name: "bad TOML",
    text: '[cache]\nkey_salt = "x"\nlocal_max_size = = 3\n',
    line: 3,
    says: /invalid TOML/,
  },
  {
    name: "an unknown key",
    text: '[cache]\nkey_salt = "x"\nlocal_max_sise = "10GiB"\n',
    line: 3,
    says: /cache\.local_max_sise: unknown key/,
  },
  {
    name: "an unparsable size",
    text: '[cache]\n\nlocal_max_size = "lots"\n',
    line: 3,
    says: /cache\.local_max_size: .*(size|lots)/i,
  },
];

for (const bad of CONFIG_CASES) {
  test(
    `a workspace .kache.toml with ${bad.name}: the build compiles and kache names file, line and key`,
    async () => {
      const workspace = copyFixture("path-ws");
      const file = join(workspace, ".kache.toml");
      writeFileSync(file, bad.text);
      const cacheDir = newCacheDir();
      const result = await cleanBuild(workspace, cacheDir);
      // Once for the build, not once by each of its compiler calls.
      const lines = kacheLogLines(result.stderr);
      expect(lines.length, result.stderr).toBe(1);
      expect(lines[0]).toStartWith(`kache warn: config: ${file}:${bad.line}: `);
      expect(lines[0]).toMatch(bad.says);
      // The rest of the settings still apply: every unit is cached, none passes through.
      expect(result.outcomes, result.stderr).toMatchObject({ miss: UNITS, passthrough: 0 });
      // The next build says it again, once.
      const again = await cleanBuild(workspace, cacheDir);
      expect(kacheLogLines(again.stderr), again.stderr).toEqual(lines);
    },
    TIMEOUT,
  );
}

test(
  "a warning is gone once its cause is fixed: cargo does not replay it with the units it was printed for",
  async () => {
    const workspace = copyFixture("path-ws");
    const cacheDir = newCacheDir();
    const file = join(workspace, ".kache.toml");
    writeFileSync(file, CONFIG_CASES[0]!.text);
    const broken = await cleanBuild(workspace, cacheDir);
    expect(distinctLogLines(broken).length, broken.stderr).toBe(1);
    // Cargo keeps every stderr line of a unit's compiler and prints it again while the unit is fresh.
    writeFileSync(file, '[cache]\nkey_salt = "x"\n');
    const fresh = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.compiled, fresh.stderr).toEqual([]);
    expect(kacheLogLines(fresh.stderr), fresh.stderr).toEqual([]);
  },
  TIMEOUT,
);

test(
  "a cache dir every user may write is refused, and kache says so once per build, not once per unit",
  async () => {
    const workspace = copyFixture("path-ws");
    const cacheDir = newCacheDir();
    chmodSync(cacheDir, 0o777);
    for (let build = 0; build < 2; build++) {
      const result = await cleanBuild(workspace, cacheDir);
      const lines = kacheLogLines(result.stderr);
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toBe(
        `kache warn: cache dir ${cacheDir} is writable by every user (make it private: chmod 700 ${cacheDir}); running the compiler directly`,
      );
      expect(result.outcomes, result.stderr).toMatchObject({ passthrough: UNITS });
    }
  },
  TIMEOUT,
);

test(
  "a per-crate kache.toml with an unknown key: the build compiles and kache names file, line and key",
  async () => {
    const workspace = copyFixture("path-ws");
    const file = join(workspace, "core", "kache.toml");
    writeFileSync(file, '# inputs rustc cannot see\nextra_input = ["data/**"]\n');
    const result = await cleanBuild(workspace, newCacheDir());
    const lines = distinctLogLines(result);
    expect(lines.length, result.stderr).toBe(1);
    expect(lines[0]).toStartWith(`kache warn: ${file}:2: extra_input: unknown key`);
    expect(result.outcomes, result.stderr).toMatchObject({ miss: UNITS, passthrough: 0 });
  },
  TIMEOUT,
);

// Accepted by stable rustc (see `rustc --help -v`) but not in kache's flag table: kache must not guess.
const UNKNOWN_FLAG = "--remap-path-scope=object";

test(
  `a rustc flag kache does not model (${UNKNOWN_FLAG} in RUSTFLAGS) passes every unit through`,
  async () => {
    const workspace = copyFixture("path-ws");
    const cacheDir = newCacheDir();
    for (let round = 0; round < 2; round++) {
      const result = await cleanBuild(workspace, cacheDir, { RUSTFLAGS: UNKNOWN_FLAG });
      expect(result.lines.length, result.stderr).toBe(UNITS);
      for (const line of result.lines)
        expect(line).toMatchObject({ outcome: "passthrough", detail: "unsupported-flag" });
      expect(kacheLogLines(result.stderr)).toEqual([]);
    }
    const recorded = readEvents(cacheDir).filter((event) => event.outcome === "passthrough");
    expect(recorded.length).toBe(2 * UNITS);
    for (const event of recorded)
      expect(event).toMatchObject({ reason: "unsupported-flag", detail: UNKNOWN_FLAG });
  },
  TIMEOUT,
);

/** Files (not dirs) under target/debug/incremental: rustc's incremental state. */
function incrementalFiles(workspace: string): string[] {
  const dir = join(workspace, "target", "debug", "incremental");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((path) =>
    statSync(join(dir, path)).isFile(),
  );
}

test(
  "KACHE_DISABLED=1: every unit passes through (disabled), exactly as cargo called it; with strip, without incremental",
  async () => {
    const workspace = copyFixture("path-ws");
    // Without kache, a dev build does write incremental state (so the check below means something).
    const plain = await cargo(["build", "--locked"], {
      cwd: workspace,
      cacheDir: newCacheDir(),
      wrapper: false,
    });
    expect(plain.code, plain.stderr).toBe(0);
    expect(incrementalFiles(workspace).length).toBeGreaterThan(0);

    const cacheDir = newCacheDir();
    const runs: [Record<string, string>, boolean][] = [
      [{ KACHE_DISABLED: "1" }, true],
      [{ KACHE_DISABLED: "1", KACHE_INCREMENTAL: "strip" }, false],
      [{ KACHE_DISABLED: "1", KACHE_INCREMENTAL: "strip", CARGO_INCREMENTAL: "1" }, false],
    ];
    for (const [env, incremental] of runs) {
      const result = await cleanBuild(workspace, cacheDir, env);
      expect(result.lines.length, result.stderr).toBe(UNITS);
      for (const line of result.lines)
        expect(line).toMatchObject({ outcome: "passthrough", detail: "disabled" });
      expect(kacheLogLines(result.stderr)).toEqual([]);
      expect(incrementalFiles(workspace).length > 0, JSON.stringify(env)).toBe(incremental);
    }
    expect(existsSync(join(cacheDir, "index.db"))).toBe(false); // disabled means no store either
  },
  TIMEOUT,
);
