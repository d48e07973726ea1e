// Shared helpers of the fault-* and concurrency-* e2e tests: store inspection, recorded rustc calls, reference output.
import { Database } from "bun:sqlite";
import { expect } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CargoResult,
  cargo,
  copyFixture,
  hashTree,
  KACHE_BIN,
  makeTempDir,
  newCacheDir,
  runBinary,
} from "./harness";

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
const ANSI = /\x1b\[[0-9;]*m/g;

/** The `kache warn:` / `kache error:` lines in some stderr (cargo shows a wrapper's stderr lines). */
export function kacheLogLines(stderr: string): string[] {
  return stderr
    .split("\n")
    .map((line) => line.replace(ANSI, "").trim())
    .filter((line) => /^kache (warn|error):/.test(line));
}

export interface IndexedFile {
  name: string;
  blob: string;
  size: number;
  executable: boolean;
  depInfo: boolean;
}

export interface IndexedEntry {
  key: string;
  crate: string;
  files: IndexedFile[];
}

/** Entries of `<cacheDir>/index.db` opened read-only; marker rows of location-bound entries left out. */
export function indexEntries(cacheDir: string): IndexedEntry[] {
  const db = new Database(join(cacheDir, "index.db"), { readonly: true });
  try {
    const rows = db.query("SELECT key, crate, files FROM entries WHERE bound_to IS NULL").all() as {
      key: string;
      crate: string;
      files: string;
    }[];
    return rows.map((row) => ({ ...row, files: JSON.parse(row.files) as IndexedFile[] }));
  } finally {
    db.close();
  }
}

export function blobPath(cacheDir: string, file: IndexedFile): string {
  const name = file.executable && !file.depInfo ? `${file.blob}.x` : file.blob;
  return join(cacheDir, "store", file.blob.slice(0, 2), name);
}

/** Named blobs under `<cacheDir>/store` whose bytes do not hash to their name (temp files skipped). */
export function corruptBlobs(cacheDir: string): string[] {
  const store = join(cacheDir, "store");
  if (!existsSync(store)) return [];
  const named = hashTree(store, (path) => /^[0-9a-f]{2}\/[0-9a-f]{64}(\.x)?$/.test(path));
  return Object.entries(named)
    .filter(([path, hash]) => !path.includes(hash))
    .map(([path]) => path);
}

/** Every line of `<cacheDir>/events.jsonl` that is not one whole JSON object. */
export function brokenEventLines(cacheDir: string): string[] {
  const path = join(cacheDir, "events.jsonl");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line, i, all) => line !== "" || i < all.length - 1)
    .filter((line) => {
      try {
        const value = JSON.parse(line);
        return typeof value !== "object" || value === null;
      } catch {
        return true;
      }
    });
}

let plainOutput: Promise<string> | undefined;

/** What `fixture_app` prints after a plain cargo build of path-ws (no kache); built once per test file. */
export function plainAppOutput(): Promise<string> {
  plainOutput ??= (async () => {
    const workspace = copyFixture("path-ws");
    const result = await cargo(["build", "--locked"], {
      cwd: workspace,
      cacheDir: newCacheDir(),
      wrapper: false,
    });
    if (result.code !== 0) throw new Error(`plain build failed: ${result.stderr}`);
    return runBinary(join(workspace, "target", "debug", "fixture_app"));
  })();
  return plainOutput;
}

export interface RustcCall {
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/**
 * Builds `workspace` through a recording RUSTC_WRAPPER that then execs rustc (or `via` rustc, e.g. kache
 * with a throwaway cache in the record dir); returns each real compile (`--crate-name`). The calls are
 * recorded without `-C incremental` unless `incremental`: replays of one call would otherwise share
 * one incremental dir, and an incremental compile names its objects per session, so replays would
 * not make the same bytes.
 */
export async function recordRustcCalls(
  workspace: string,
  {
    cargoArgs = ["build", "--locked"],
    via,
    incremental = false,
  }: { cargoArgs?: string[]; via?: string; incremental?: boolean } = {},
): Promise<RustcCall[]> {
  const dir = makeTempDir("kache-e2e-record-");
  const script = join(dir, "record.sh");
  const body = `d="${dir}/$$"; mkdir "$d"; printf '%s\\0' "$@" >"$d/args"; pwd >"$d/cwd"; env -0 >"$d/env"`;
  writeFileSync(script, `#!/bin/sh\n${body}\nexec ${via ? `"${via}" ` : ""}"$@"\n`);
  chmodSync(script, 0o755);
  const env = { RUSTC_WRAPPER: script, ...(incremental ? {} : { CARGO_INCREMENTAL: "0" }) };
  const result = await cargo(cargoArgs, { cwd: workspace, cacheDir: dir, wrapper: false, env });
  if (result.code !== 0) throw new Error(`recording build failed: ${result.stderr}`);
  const calls = readdirSync(dir)
    .filter((name) => /^\d+$/.test(name))
    .map((name) => {
      const read = (file: string) => readFileSync(join(dir, name, file), "utf8");
      const vars = read("env")
        .split("\0")
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]);
      const callEnv: Record<string, string> = Object.fromEntries(vars);
      // The jobserver fds and the recorder itself belong to the recording build, not to a replay.
      for (const drop of ["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS", "RUSTC_WRAPPER"]) delete callEnv[drop];
      return { args: read("args").split("\0").slice(0, -1), cwd: read("cwd").trim(), env: callEnv };
    });
  return calls.filter((call) => call.args.includes("--crate-name"));
}

export function crateCall(calls: RustcCall[], crate: string): RustcCall {
  const call = calls.find((c) => c.args[c.args.indexOf("--crate-name") + 1] === crate);
  if (!call) throw new Error(`no recorded rustc call for ${crate}`);
  return call;
}

/** The call's args with `--out-dir` replaced. */
export function withOutDir(call: RustcCall, outDir: string): string[] {
  const args = [...call.args];
  args[args.indexOf("--out-dir") + 1] = outDir;
  return args;
}

/**
 * Starts `kache <rustc> <args>` as cargo would, on `cacheDir`, progress lines off (events record outcomes).
 * `ownGroup` runs it as a process-group leader (via setsid) so `kill(-pid)` reaches its compiler too.
 */
export function spawnWrapper(
  call: RustcCall,
  args: string[],
  cacheDir: string,
  { env = {}, ownGroup = false }: { env?: Record<string, string>; ownGroup?: boolean } = {},
) {
  // In place unless asked: these replays judge what one process leaves behind when it ends.
  return Bun.spawn([...(ownGroup ? ["setsid"] : []), KACHE_BIN, ...args], {
    cwd: call.cwd,
    env: {
      ...call.env,
      KACHE_CACHE_DIR: cacheDir,
      KACHE_PROGRESS: "never",
      KACHE_BACKGROUND_STORE: "never",
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

// Processes, read from /proc (Linux).

export function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

export function descendants(root: number): number[] {
  const found: number[] = [];
  for (let queue = childrenOf(root); queue.length > 0; ) {
    const pid = queue.pop()!;
    found.push(pid);
    queue.push(...childrenOf(pid));
  }
  return found;
}

function sigkill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** SIGKILLs a kache process, then what it started (so no orphaned rustc writes on). */
export function killWrapper(pid: number): void {
  const children = descendants(pid);
  sigkill(pid);
  for (const child of children) sigkill(child);
}

/** `rm -rf target && cargo build`; asserts success and the plain build's program output. */
export async function cleanBuild(
  workspace: string,
  cacheDir: string,
  env?: Record<string, string>,
): Promise<CargoResult> {
  rmSync(join(workspace, "target"), { recursive: true, force: true });
  const result = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env });
  expect(result.code, result.stderr).toBe(0);
  expect(runBinary(join(workspace, "target", "debug", "fixture_app"))).toBe(await plainAppOutput());
  return result;
}
