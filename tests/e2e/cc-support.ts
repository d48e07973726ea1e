// Helpers for the C cache's e2e tests: a shim dir, the cc-rs environment that reaches it, and C events.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CargoResult, KACHE_BIN, type KacheEvent, makeTempDir } from "./harness";

/** What tests/fixtures/cc-ws's cmath-app prints unedited (its README). */
export const CC_WS_OUTPUT = [
  "add: 12",
  "scale: 15",
  "fib: 12586269025",
  "gcd: 21",
  "crc32: 71372026",
  "digest: 1f00282c",
];

/** The sources cmath-sys's build script compiles, one compiler run each (sorted). */
export const CC_WS_SOURCES = ["add.c", "checksum.c", "fib.c", "gcd.c", "scale.c", "tables.c"];

/** The sources that include csrc/shared.h. */
export const CC_WS_SHARED_HEADER_USERS = ["add.c", "scale.c"];

let hostTriple: string | undefined;

/** The host target from `rustc -vV`: cc-rs reads CC_<that>. */
export function host(): string {
  if (hostTriple) return hostTriple;
  const output = Bun.spawnSync(["rustc", "-vV"], { stdout: "pipe" }).stdout.toString();
  const match = /^host: (\S+)$/m.exec(output);
  if (!match) throw new Error(`no host line in rustc -vV: ${output}`);
  hostTriple = match[1]!;
  return hostTriple;
}

/** The shim names SPEC §11 and `kache install-shims` promise. */
export const SHIM_NAMES = ["cc", "c++", "gcc", "g++", "clang", "clang++"];

/** `kache install-shims DIR` into a fresh dir; throws with kache's output when it fails. */
export function installShims(): string {
  const dir = join(makeTempDir("kache-e2e-shims-"), "shims");
  const result = Bun.spawnSync([KACHE_BIN, "install-shims", dir], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0 || !existsSync(join(dir, "cc"))) {
    throw new Error(
      `kache install-shims ${dir} exited with ${result.exitCode}: ${result.stdout}${result.stderr}`,
    );
  }
  return dir;
}

/**
 * The variables that send cc-rs to the shims, the way `kache init` writes them: CC_<host> and
 * CXX_<host> in both spellings cc-rs reads. Whatever the caller's shell sets for C is removed.
 */
export function shimEnv(shimDir: string): Record<string, string | undefined> {
  const triple = host();
  const underscored = triple.replaceAll("-", "_");
  return {
    CC: undefined,
    CXX: undefined,
    HOST_CC: undefined,
    TARGET_CC: undefined,
    CFLAGS: undefined,
    CXXFLAGS: undefined,
    KACHE_CC_WRAPPED: undefined,
    [`CC_${triple}`]: join(shimDir, "cc"),
    [`CC_${underscored}`]: join(shimDir, "cc"),
    [`CXX_${triple}`]: join(shimDir, "c++"),
    [`CXX_${underscored}`]: join(shimDir, "c++"),
  };
}

/** The C compiles a build appended to events.jsonl. */
export function cEvents(result: CargoResult): KacheEvent[] {
  return result.events.filter((event) => event.language === "c");
}

/** `<source>: <outcome>` per C event, sorted. */
export function cSummary(result: CargoResult): string[] {
  return cEvents(result)
    .map((event) => `${event.crate}: ${event.outcome}`)
    .sort();
}

/** Every source with the same outcome, as cSummary lists them. */
export function allWith(outcome: string, sources = CC_WS_SOURCES): string[] {
  return sources.map((source) => `${source}: ${outcome}`);
}

/** Summed time kache took over the C compiles (elapsed_ms): the compiler's work on a miss, restores on a hit. */
export function cElapsedMs(result: CargoResult): number {
  return cEvents(result).reduce((sum, event) => sum + Number(event.elapsed_ms), 0);
}

/**
 * Wall time from the first C compile's start to the last one's end (each event's `time` is when it
 * ended): cc-rs runs them one after another, so this is the build script's C compiling.
 */
export function cSpanMs(result: CargoResult): number {
  const events = cEvents(result);
  if (events.length === 0) return 0;
  const ends = events.map((event) => Date.parse(String(event.time)));
  const starts = events.map((event, index) => ends[index]! - Number(event.elapsed_ms));
  return Math.max(...ends) - Math.min(...starts);
}

/** Replaces `from` by `to` in a fixture file; returns a function that puts the file back. */
export function editFile(path: string, from: string, to: string): () => void {
  const original = readFileSync(path, "utf8");
  if (!original.includes(from)) throw new Error(`${path} does not contain ${from}`);
  writeFileSync(path, original.replace(from, to));
  return () => writeFileSync(path, original);
}

/** A HOME of its own for `kache cc` runs, and the environment they start from. */
export function ccTestEnv(prefix: string): {
  PATH: string;
  HOME: string;
  CARGO_HOME: string;
  XDG_CONFIG_HOME: string;
} {
  const home = makeTempDir(prefix);
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    CARGO_HOME: join(home, ".cargo"),
    XDG_CONFIG_HOME: join(home, ".config"),
  };
}
