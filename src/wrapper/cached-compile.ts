// The compile-or-restore flow for one cacheable rustc call: key, lookup, restore or compile and store.
import { mkdirSync, unlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { collectExtraInputs, readCrateConfig } from "../config/crate-config";
import { formatIssue } from "../config/load";
import type { Settings } from "../config/settings";
import { BlobStore } from "../store/blobs";
import { FileHashMemo } from "../store/file-hash-memo";
import { type Entry, IndexDb } from "../store/index-db";
import { acquireKeyLock } from "../store/key-lock";
import { restoreEntry } from "../store/restore";
import { describeError } from "../util/errors";
import { log } from "../util/log";
import { digestKey, type KeyComponents, locationBoundKey } from "./cache-key";
import { type CapturedRun, runCaptured } from "./compiler-process";
import { runPrepass } from "./dep-info";
import { buildKeyComponents } from "./key-components";
import { expectedOutputs, producesExecutable } from "./output-files";
import { detectRoots, PathNormaliser } from "./path-roots";
import type { InvocationEvent, Phases } from "./report";
import type { RustcArgs } from "./rustc-args";
import { storeOutputs } from "./store-outputs";
import { compilerIdentity, toolVersion } from "./tool-identity";

/** How long a second process waits for another compiling the same key before compiling itself. */
const LOCK_WAIT_MS = 10 * 60_000;

export interface Invocation {
  /** The compiler command: rustc, or a wrapper (clippy-driver) followed by rustc. */
  command: string[];
  compiler: string;
  wrapper: string | null;
  args: RustcArgs;
  cwd: string;
  env: Record<string, string | undefined>;
  settings: Settings;
}

export interface FlowResult {
  status: { exitCode: number; signal: string | null };
  /** Compiler output of a hit, written after the progress line so the line never splits a diagnostic. */
  replay?: { stdout: string; stderr: string };
  event: InvocationEvent;
  /** True once the real compiler has run: a later failure must not run it again. */
  compiled: boolean;
}

/** The flow reports through this so the caller knows whether the compiler ran when an error escapes. */
export interface FlowState {
  compiled: boolean;
  status?: { exitCode: number; signal: string | null };
}

interface Stores {
  index: IndexDb;
  blobs: BlobStore;
  memo: FileHashMemo;
}

function keyFor(inv: Invocation, stores: Stores, normaliser: PathNormaliser) {
  const { args } = inv;
  const compiler = compilerIdentity(stores.index, inv.compiler);
  const prepass = runPrepass(inv.command, args.compileArgs, inv.cwd);
  if (!prepass.depInfo) return { prepassMs: prepass.ms, key: null };
  const crateDir = inv.env.CARGO_MANIFEST_DIR;
  const crateConfig = crateDir ? readCrateConfig(crateDir) : { extraInputs: [], issues: [] };
  for (const issue of crateConfig.issues) log.warn(formatIssue(issue));
  const extra =
    crateDir && crateConfig.extraInputs.length ? collectExtraInputs(crateDir, crateConfig.extraInputs) : null;
  for (const warning of extra?.warnings ?? []) log.warn(warning);
  const linker = args.codegen.findLast(([k]) => k === "linker")?.[1] ?? "cc";
  const components = buildKeyComponents({
    args,
    cwd: inv.cwd,
    env: inv.env,
    compiler,
    wrapperVersion: inv.wrapper ? toolVersion(stores.index, inv.wrapper) : null,
    normaliser,
    depInfo: prepass.depInfo,
    memo: stores.memo,
    linkerVersion: producesExecutable(args) ? toolVersion(stores.index, linker) : null,
    remapApplied: remapWanted(args),
    salt: inv.settings.keySalt,
    extraInputs: { patterns: crateConfig.extraInputs, files: extra?.files ?? [] },
  });
  return { prepassMs: prepass.ms, key: digestKey(components), components, target: compiler.host };
}

/** Coverage instrumentation needs real source paths, so remapping is skipped (and recorded in the key). */
function remapWanted(args: RustcArgs): boolean {
  return (
    !args.codegen.some(([k]) => k === "instrument-coverage") &&
    !args.otherFlags.some((f) => f.includes("instrument-coverage"))
  );
}

function lookup(index: IndexDb, key: string, normaliser: PathNormaliser): Entry | null {
  const entry = index.getEntry(key);
  if (!entry?.boundTo) return entry;
  return index.getEntry(locationBoundKey(key, normaliser.rootsSignature()));
}

/** Restores a hit (replay comes later); null when the entry turned out damaged (it is dropped, we compile). */
function tryRestore(entry: Entry, outDir: string, stores: Stores, normaliser: PathNormaliser): number | null {
  try {
    const { bytes } = restoreEntry(stores.blobs, entry, outDir, normaliser, stores.memo);
    try {
      stores.index.recordHit(entry.key, Date.now());
    } catch (error) {
      log.debug(`could not record the hit: ${describeError(error)}`);
    }
    return bytes;
  } catch (error) {
    log.warn(`cache entry for ${entry.crate} is damaged (${describeError(error)}); compiling instead`);
    try {
      stores.index.deleteEntry(entry.key);
    } catch {
      // the next store replaces it anyway
    }
    return null;
  }
}

export function unlinkOutputs(args: RustcArgs, outDir: string): void {
  // Restored outputs may be hardlinks into the store; rustc and linkers can write in place.
  for (const name of expectedOutputs(args)) {
    try {
      unlinkSync(join(outDir, name));
    } catch {
      // not there
    }
  }
}

export async function cachedCompile(inv: Invocation, state: FlowState): Promise<FlowResult> {
  const started = performance.now();
  const { args, settings } = inv;
  const outDir = resolve(inv.cwd, args.outDir!);
  const phases: Phases = {};
  mkdirSync(settings.cacheDir, { recursive: true });
  const index = IndexDb.open(settings.cacheDir);
  const stores: Stores = { index, blobs: new BlobStore(settings.cacheDir), memo: new FileHashMemo(index) };
  const normaliser = new PathNormaliser(detectRoots(inv.cwd, outDir, args.target, inv.env));
  const keyed = keyFor(inv, stores, normaliser);
  phases.prepass = keyed.prepassMs;
  phases.key = performance.now() - started;
  const base = { crate: args.crateName ?? "", prepass: true, outDir, phases };
  if (!keyed.key) {
    return passthroughCompile(inv, state, { ...base, key: null }, "prepass-failed");
  }
  const key = keyed.key;
  const hit = (entry: Entry, bytes: number): FlowResult => ({
    status: { exitCode: 0, signal: null },
    replay: { stdout: normaliser.denormalise(entry.stdout), stderr: normaliser.denormalise(entry.stderr) },
    compiled: false,
    event: {
      ...base,
      outcome: "local hit",
      elapsedMs: performance.now() - started,
      compileMs: entry.compileMs,
      size: bytes,
      key,
    },
  });
  let lookupStarted = performance.now();
  let entry = lookup(index, key, normaliser);
  phases.lookup = performance.now() - lookupStarted;
  if (entry) {
    const restoreStarted = performance.now();
    const bytes = tryRestore(entry, outDir, stores, normaliser);
    phases.restore = performance.now() - restoreStarted;
    if (bytes !== null) return hit(entry, bytes);
  }
  const lock = await acquireKeyLock(settings.cacheDir, key, LOCK_WAIT_MS);
  try {
    if (lock.waited) {
      lookupStarted = performance.now();
      entry = lookup(index, key, normaliser);
      const bytes = entry ? tryRestore(entry, outDir, stores, normaliser) : null;
      phases.restore = performance.now() - lookupStarted;
      if (entry && bytes !== null) return hit(entry, bytes);
    }
    unlinkOutputs(args, outDir);
    const compileCmd = [
      ...inv.command,
      ...(remapWanted(args) ? normaliser.remapArgs() : []),
      ...args.compileArgs,
    ];
    const startedWallMs = Date.now();
    state.compiled = true;
    const run = await runCaptured(compileCmd, inv.cwd);
    state.status = { exitCode: run.exitCode, signal: run.signal };
    phases.compile = run.ms;
    const size =
      run.exitCode === 0 && !run.signal
        ? storeAfterMiss(inv, stores, normaliser, keyed, run, startedWallMs, phases)
        : 0;
    const failed = run.exitCode !== 0 || run.signal !== null;
    return {
      status: { exitCode: run.exitCode, signal: run.signal },
      compiled: true,
      event: {
        ...base,
        outcome: failed ? "passthrough" : "miss",
        reason: failed ? "compile-failed" : undefined,
        elapsedMs: performance.now() - started,
        compileMs: run.ms,
        size,
        key,
      },
    };
  } finally {
    lock.release();
  }
}

function storeAfterMiss(
  inv: Invocation,
  stores: Stores,
  normaliser: PathNormaliser,
  keyed: { key: string | null; components?: KeyComponents; target?: string },
  run: CapturedRun,
  startedWallMs: number,
  phases: Phases,
): number {
  const storeStarted = performance.now();
  try {
    const result = storeOutputs(
      {
        args: inv.args,
        outDir: resolve(inv.cwd, inv.args.outDir!),
        key: keyed.key!,
        components: keyed.components!,
        target: inv.args.target ?? keyed.target ?? "",
        stdout: run.stdout,
        stderr: run.stderr,
        compileMs: run.ms,
        startedWallMs,
      },
      { ...stores, normaliser },
    );
    if (!result.stored) log.info(`${inv.args.crateName}: not cached: ${result.why}`);
    else if (result.why) log.info(`${inv.args.crateName}: ${result.why}`);
    return result.size;
  } catch (error) {
    log.warn(
      `could not store ${inv.args.crateName} in the cache (${describeError(error)}); the build is unaffected`,
    );
    return 0;
  } finally {
    phases.store = performance.now() - storeStarted;
  }
}

async function passthroughCompile(
  inv: Invocation,
  state: FlowState,
  base: Omit<InvocationEvent, "outcome" | "elapsedMs" | "compileMs" | "size">,
  reason: "prepass-failed",
): Promise<FlowResult> {
  state.compiled = true;
  const run = await runCaptured([...inv.command, ...inv.args.compileArgs], inv.cwd);
  state.status = { exitCode: run.exitCode, signal: run.signal };
  return {
    status: { exitCode: run.exitCode, signal: run.signal },
    compiled: true,
    event: { ...base, outcome: "passthrough", reason, elapsedMs: run.ms, compileMs: run.ms, size: 0 },
  };
}
