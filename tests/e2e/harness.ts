// Helpers for e2e tests: copy fixtures, run real cargo through dist/kache, parse its progress lines and events.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { hashFile } from "../../src/util/hash";
import { readEventLines } from "../../src/wrapper/event-log";
import type { Outcome } from "../../src/wrapper/outcomes";
import { toolchainRustc, writeScript } from "./compiler-support";
import { runCollected } from "./run-collected";

export const REPO_ROOT = resolve(import.meta.dir, "../..");
export const KACHE_BIN = join(REPO_ROOT, "dist", "kache");
export const FIXTURES_DIR = join(REPO_ROOT, "tests", "fixtures");

const tempDirs: string[] = [];
let configHome: string | undefined; // empty XDG_CONFIG_HOME, so the user's ~/.config/kache stays out

/** A fresh directory under the system temp dir (or `base`), removed by `removeTempDirs`. */
export function makeTempDir(prefix = "kache-e2e-", base = tmpdir()): string {
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, prefix));
  tempDirs.push(dir);
  return dir;
}

/** A TCP port on 127.0.0.1 that nothing listens on now, as the kernel hands them out. */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** Call from `afterAll`; set KACHE_E2E_KEEP=1 to keep the dirs for debugging. */
export function removeTempDirs(): void {
  if (process.env.KACHE_E2E_KEEP === "1") return;
  configHome = undefined;
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface CopyFixtureOptions {
  /** Extra path segments between the temp dir and the fixture, e.g. "a/b/c" → <tmp>/a/b/c/<name>. */
  under?: string;
  /** Parent for the temp dir instead of the system temp dir (e.g. a dir outside TMPDIR). */
  base?: string;
}

/** Copies tests/fixtures/<name> (without any target/) into a fresh temp dir; returns the copy's path. */
export function copyFixture(name: string, options: CopyFixtureOptions = {}): string {
  const source = join(FIXTURES_DIR, name);
  if (!existsSync(source)) throw new Error(`no fixture named ${name} in ${FIXTURES_DIR}`);
  const destination = join(makeTempDir("kache-e2e-", options.base), options.under ?? "", name);
  cpSync(source, destination, {
    recursive: true,
    filter: (path) => relative(source, path).split(sep)[0] !== "target",
  });
  return destination;
}

/** Writes `files` (path relative to `root` to text) under `root`, making dirs; returns `root`. */
export function writeTree(root: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

export function newCacheDir(): string {
  return makeTempDir("kache-e2e-cache-");
}

export interface ProgressLine {
  crate: string;
  outcome: Outcome;
  /** Text inside the parentheses: "2ms, 1.2 MB" or a pass-through reason; "" when absent. */
  detail: string;
}

export interface CargoOptions {
  cwd: string;
  cacheDir: string;
  /** Overrides; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
  /** Run through RUSTC_WRAPPER=dist/kache (default true). */
  wrapper?: boolean;
  /** rustup toolchain, passed as `cargo +<toolchain>`. */
  toolchain?: string;
  /** Return only once the build's background stores are done (default true). */
  waitForStores?: boolean;
}

export interface CargoResult {
  code: number;
  stdout: string;
  stderr: string;
  /**
   * Cargo's stderr without kache's progress lines: a line kache writes straight to cargo's stderr
   * can land inside one cargo writes in pieces. Check cargo's and rustc's own words here.
   */
  cargoText: string;
  lines: ProgressLine[];
  outcomes: Record<Outcome, number>;
  /** Packages cargo reported as `Compiling`/`Checking` (once per package, not per rustc call). */
  compiled: string[];
  /** events.jsonl records this run appended, without cargo's probes (`rustc -vV`, `--print`, stdin). */
  events: KacheEvent[];
}

// Variables from the caller's shell that would change what cargo or kache do.
const SCRUBBED_ENV = [
  "CARGO_INCREMENTAL",
  "CARGO_TARGET_DIR",
  "CARGO_BUILD_TARGET_DIR",
  "CARGO_BUILD_RUSTC_WRAPPER",
  "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
  "RUSTC_WRAPPER",
  "RUSTC_WORKSPACE_WRAPPER",
  "RUSTFLAGS",
  "CARGO_ENCODED_RUSTFLAGS",
  "RUSTUP_TOOLCHAIN",
];

/** The environment `cargo` runs in: the caller's, scrubbed, with kache as the wrapper (unless `wrapper: false`). */
export function cargoEnv(options: CargoOptions): Record<string, string> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith("KACHE_") || SCRUBBED_ENV.includes(name)) delete env[name];
  }
  configHome ??= makeTempDir("kache-e2e-config-");
  Object.assign(env, {
    XDG_CONFIG_HOME: configHome,
    KACHE_CACHE_DIR: options.cacheDir,
    KACHE_PROGRESS: "always",
    // Every miss stores in the background, whatever its size and whether CI is set: the suite
    // takes the same path everywhere, and the one with the most to get wrong.
    KACHE_BACKGROUND_STORE: "always",
    CARGO_TERM_COLOR: "never",
  });
  if (options.wrapper ?? true) env.RUSTC_WRAPPER = KACHE_BIN;
  Object.assign(env, options.env);
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** Runs real cargo (through kache unless `wrapper: false`) and parses what it printed. */
export async function cargo(args: string[], options: CargoOptions): Promise<CargoResult> {
  if ((options.wrapper ?? true) && !existsSync(KACHE_BIN)) {
    throw new Error(`${KACHE_BIN} is missing: run \`bun run build.ts\` (npm test does) first`);
  }
  const eventsBefore = readEvents(options.cacheDir).length;
  // Bun's "pipe" is a socketpair; kache cannot open a socket through /proc/<cargo>/fd/2 and falls
  // back to writing through cargo (which then replays the line on fresh units). Give cargo a real
  // pipe for stderr, as shells and CI runners do.
  const cargoCommand = ["cargo", ...(options.toolchain ? [`+${options.toolchain}`] : []), ...args];
  const command = ["bash", "-c", 'exec "$@" 2> >(cat >&2)', "bash", ...cargoCommand];
  const { code, stdout, stderr } = await runCollected(command, { cwd: options.cwd, env: cargoEnv(options) });
  if (options.waitForStores ?? true) await waitForStores(options.cacheDir);
  const lines = parseProgressLines(stderr);
  const events = readEvents(options.cacheDir)
    .slice(eventsBefore)
    .filter((event) => !PROBE_REASONS.includes(String(event.reason)));
  const compiled = compiledPackages(stderr);
  const cargoText = withoutProgressLines(stderr);
  return { code, stdout, stderr, cargoText, lines, outcomes: countOutcomes(lines), compiled, events };
}

/** Live `kache __store-job` processes working on `cacheDir`'s staging dirs (Linux /proc). */
export function storeJobPids(cacheDir: string): number[] {
  const staging = join(cacheDir, "staging");
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (argv[1] === "__store-job" && argv[2]?.startsWith(staging)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A process's pid, state and what it waits in, for a message about a store that never finished. */
function describeProcess(pid: number): string {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[0];
    return `${pid} ${state} ${readFileSync(`/proc/${pid}/wchan`, "utf8")}`;
  } catch {
    return `${pid} gone`;
  }
}

/**
 * Waits until the background stores of a build are done (each miss's wrapper leaves a marker in
 * `<cache>/pending` until its detached store has recorded the entry), so a test sees the cache as
 * the next build will. A marker whose store was killed stays: the next build's waiters clear it,
 * so once no store runs any more there is nothing left to wait for. At most a minute.
 */
export async function waitForStores(cacheDir: string): Promise<void> {
  const pending = join(cacheDir, "pending");
  const deadline = Date.now() + 60_000;
  let idleSince: number | null = null;
  while (existsSync(pending) && readdirSync(pending).length > 0) {
    if (Date.now() > deadline) {
      const jobs = storeJobPids(cacheDir).map(describeProcess).join(" | ");
      throw new Error(
        `background stores still pending in ${pending} (${readdirSync(pending)}); running: ${jobs}`,
      );
    }
    // A store may be about to start (its wrapper spawned it just now): idle for a while means none will.
    if (storeJobPids(cacheDir).length > 0) idleSince = null;
    else if (idleSince === null) idleSince = Date.now();
    else if (Date.now() - idleSince > 500) return;
    await Bun.sleep(10);
  }
}

function emptyCounts(): Record<Outcome, number> {
  return { "local hit": 0, "remote hit": 0, "prefetch hit": 0, miss: 0, passthrough: 0 };
}

const OUTCOME_NAMES = Object.keys(emptyCounts()).join("|");
const PROGRESS_LINE = new RegExp(`\\[kache\\] (.+?): (${OUTCOME_NAMES})(?: \\((.*)\\))?$`);
// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Parses `[kache] <crate>: <outcome> (<detail>)` lines (SPEC §2) out of cargo's stderr. kache writes
 * straight to cargo's stderr, so a line can land after a fragment cargo was writing: match anywhere.
 */
export function parseProgressLines(stderr: string): ProgressLine[] {
  const lines: ProgressLine[] = [];
  for (const raw of stderr.split("\n")) {
    const match = PROGRESS_LINE.exec(raw.replace(ANSI, "").trimEnd());
    if (match) lines.push({ crate: match[1]!, outcome: match[2] as Outcome, detail: match[3] ?? "" });
  }
  return lines;
}

/**
 * Cargo's stderr as cargo wrote it: each progress line taken out where it landed, so a diagnostic
 * cargo was writing in pieces when it arrived (`warning` … `: message`) is whole again.
 */
export function withoutProgressLines(stderr: string): string {
  return stderr.replace(
    new RegExp(`\\[kache\\] [^\\n]*?: (${OUTCOME_NAMES})(?: \\([^\\n]*\\))?\\n`, "g"),
    "",
  );
}

export function countOutcomes(lines: ProgressLine[]): Record<Outcome, number> {
  const counts = emptyCounts();
  for (const line of lines) counts[line.outcome]++;
  return counts;
}

function compiledPackages(stderr: string): string[] {
  return [...stderr.matchAll(/^\s+(?:Compiling|Checking) (\S+) v/gm)].map((match) => match[1]!);
}

const PROBE_REASONS = ["no-input", "stdin-input", "print"];

export type KacheEvent = Record<string, unknown> & { crate?: string; outcome?: string };

/** Reads `<cacheDir>/events.jsonl` after its rotated file, oldest first; [] when kache has written none. */
export function readEvents(cacheDir: string): KacheEvent[] {
  return readEventLines(cacheDir).map((line) => JSON.parse(line) as KacheEvent);
}

/** Relative path → sha256 of every regular file under `dir` that `filter` accepts. */
export function hashTree(
  dir: string,
  filter: (relativePath: string) => boolean = () => true,
): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const relativePath of readdirSync(dir, { recursive: true, encoding: "utf8" }).sort()) {
    const path = join(dir, relativePath);
    if (filter(relativePath) && statSync(path, { throwIfNoEntry: false })?.isFile())
      hashes[relativePath] = hashFile(path);
  }
  return hashes;
}

/** Runs a built binary and returns its stdout; throws with its stderr when it fails. */
export function runBinary(path: string, args: string[] = [], env?: Record<string, string>): string {
  const result = Bun.spawnSync([path, ...args], {
    env: env ?? { ...process.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (result.exitCode !== 0) {
    throw new Error(`${path} exited with ${result.exitCode}: ${result.stderr.toString()}`);
  }
  return result.stdout.toString();
}

/** `<crate>: <outcome>` per event, sorted, for order-free comparisons. */
export function summarise(events: KacheEvent[]): string[] {
  return events.map((event) => `${event.crate}: ${event.outcome}`).sort();
}

/** What path-ws's fixture_app prints when nothing was edited (tests/fixtures/path-ws/README.md). */
export const PATH_WS_OUTPUT = [
  "greeting: Hello from the fixture",
  "generated: generated-from-alpha",
  "build value: build-ALPHA",
  "env: unset",
  "util: util says hi",
  "shout: off",
  "macro: Fixture described by fixture_macros",
  "noisy: 42",
];

/** The rustc units of path-ws as kache names them (sorted). */
export const PATH_WS_UNITS = [
  "build_script_build",
  "fixture_app",
  "fixture_core",
  "fixture_macros",
  "fixture_noisy",
];

export function removeTarget(workspace: string): void {
  rmSync(join(workspace, "target"), { recursive: true, force: true });
}

/** The real compiler runs a counting shim saw, by crate name (sorted). */
export interface CompilerRuns {
  /** Compiles that produce outputs: what a cache hit saves. */
  compiles: string[];
  /** kache's dep-info pre-passes (`--emit=dep-info` into a temp dir). */
  prepasses: string[];
}

export interface CompilerCounter {
  /** Pass to `cargo` as (part of) its env: RUSTC is the shim, a script named `rustc`. */
  env: Record<string, string>;
  /** The runs logged since the previous call (or since the counter was made); clears the log. */
  takeRuns(): CompilerRuns;
}

/**
 * A witness of real compiler runs that does not take kache's word: cargo gets RUSTC=<dir>/rustc, a
 * shell script (kache recognises the compiler by the basename `rustc`) that logs every call naming a
 * crate (`--crate-name x` or, as build-script probes write it, `--crate-name=x`) and then execs the
 * toolchain's own rustc. `rustc -vV` and `--print` queries pass through
 * unchanged, so kache's compiler identity, and with it every key, is the same as without the shim.
 * Cargo's target probes (`-` as input, `--print`) are not counted. Default toolchain only.
 */
export function compilerCounter(): CompilerCounter {
  const dir = makeTempDir("kache-e2e-rustc-");
  const log = join(dir, "runs");
  mkdirSync(log);
  const shim = writeScript(join(dir, "rustc"), [
    "#!/bin/sh",
    "for arg do",
    '  case "$arg" in --crate-name | --crate-name=*)',
    `    printf '%s\\0' "$@" >"$(mktemp "${log}/run.XXXXXXXX")" || exit 99`,
    "    break ;;",
    "  esac",
    "done",
    `exec "${toolchainRustc()}" "$@"`,
  ]);
  return {
    env: { RUSTC: shim },
    takeRuns() {
      const runs: CompilerRuns = { compiles: [], prepasses: [] };
      for (const name of readdirSync(log).sort()) {
        const args = readFileSync(join(log, name), "utf8").split("\0").slice(0, -1);
        rmSync(join(log, name));
        if (args.includes("-") || args.some((arg) => arg.startsWith("--print"))) continue;
        const at = args.findIndex((arg) => arg.startsWith("--crate-name"));
        const crate = args[at] === "--crate-name" ? args[at + 1]! : args[at]!.slice("--crate-name=".length);
        (args.includes("--emit=dep-info") ? runs.prepasses : runs.compiles).push(crate);
      }
      runs.compiles.sort();
      runs.prepasses.sort();
      return runs;
    },
  };
}

/** A binary that prints its own checkout path: its outputs embed the workspace's location. */
export function writeWhereami(dir: string): void {
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(
    join(dir, "Cargo.toml"),
    '[package]\nname = "whereami"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n',
  );
  writeFileSync(
    join(dir, "src/main.rs"),
    'fn main() {\n    println!("{}", env!("CARGO_MANIFEST_DIR"));\n}\n',
  );
}
