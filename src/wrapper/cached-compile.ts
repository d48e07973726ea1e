// The compile-or-restore flow for one cacheable rustc call: key, lookup, restore or compile and store.
import { existsSync, mkdirSync, unlinkSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { BlobStore } from "../store/blobs";
import { FileHashMemo } from "../store/file-hash-memo";
import { rememberIncrementalDir } from "../store/incremental-dirs";
import { type Entry, IndexDb } from "../store/index-db";
import { acquireKeyLock } from "../store/key-lock";
import { waitForPendingStore } from "../store/pending-stores";
import { DamagedEntryError, restoreEntry } from "../store/restore";
import { describeError } from "../util/errors";
import { fileSystemClockNs } from "../util/fs-clock";
import { hashParts } from "../util/hash";
import { log } from "../util/log";
import { detectRoots, PathNormaliser } from "../util/path-roots";
import type { KeyComponents } from "./cache-key";
import { runCaptured } from "./compiler-process";
import {
  compilerArgs,
  compilesIncrementally,
  type Keyed,
  type KeyPlan,
  keyAfterCompile,
  keyByPrepass,
  keyFromManifest,
  type PlanPassthrough,
  planCompileArgs,
  planKey,
  remapWanted,
  type Stores,
} from "./compute-key";
import { daemonWanted, fetchManifests, remoteCheck, startPrefetch, tellSessionLinks } from "./daemon-hooks";
import { runCapturedCall } from "./fallback";
import type { Invocation } from "./invocation";
import { compileTryingLinkStyle } from "./link-style-compile";
import { expectedOutputs } from "./output-files";
import { lookupEntry } from "./record-entry";
import type { InvocationEvent, Phases } from "./report";
import type { RustcArgs } from "./rustc-args";
import { storeAfterMiss } from "./store-after-miss";
import { sessionLinks, sessionTags } from "./toolchain-tag";

/** How long a second process waits for another compiling the same key before compiling itself. */
const LOCK_WAIT_MS = 10 * 60_000;

export interface FlowResult {
  status: { exitCode: number; signal: string | null };
  /** Compiler output of a hit, written after the progress line so the line never splits a diagnostic. */
  replay?: { stdout: string; stderr: string };
  event: InvocationEvent;
}

/** The flow reports through this so the caller knows whether the compiler ran when an error escapes. */
export interface FlowState {
  compiled: boolean;
  status?: { exitCode: number; signal: string | null };
}

/** Restores a hit (replay comes later); null when the entry turned out damaged (it is dropped, we compile). */
function tryRestore(
  entry: Entry,
  outDir: string,
  stores: Stores,
  normaliser: PathNormaliser,
  forgetMemo: string | null,
): { bytes: number; linkedBytes: number } | null {
  try {
    const { bytes, linkedBytes, placed } = restoreEntry(stores.blobs, entry, outDir, normaliser);
    try {
      // One write transaction per hit: with many wrappers at once, each extra one can wait on the lock.
      stores.index.db.transaction(() => {
        stores.index.recordHit(entry.key, Date.now());
        if (forgetMemo) stores.index.deleteMemo(forgetMemo);
        for (const file of placed) stores.memo.remember(file.path, file.hash);
        stores.memo.flush();
      })();
    } catch (error) {
      log.debug(`could not record the hit: ${describeError(error)}`);
    }
    return { bytes, linkedBytes };
  } catch (error) {
    if (!(error instanceof DamagedEntryError)) {
      log.warn(`could not restore ${entry.crate} (${describeError(error)}); compiling instead`);
      return null;
    }
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

interface Flow {
  inv: Invocation;
  state: FlowState;
  stores: Stores;
  normaliser: PathNormaliser;
  outDir: string;
  phases: Phases;
  started: number;
}

function baseEvent(flow: Flow, keyed: Keyed | null) {
  return {
    crate: flow.inv.args.crateName ?? "",
    prepass: keyed?.usedPrepass ?? false,
    outDir: flow.outDir,
    phases: flow.phases,
  };
}

/**
 * The marker of an entry the daemon's prefetch brought in and nobody has hit yet, or null. The
 * first hit says "prefetch hit" and drops the marker in its own write transaction.
 */
function prefetchedMarker(stores: Stores, key: string): string | null {
  const name = `prefetched|${key}`;
  try {
    return stores.index.getMemo(name) === null ? null : name;
  } catch {
    return null;
  }
}

/** Looks the key up and restores a hit; null on a miss or a damaged entry. */
function lookupAndRestore(flow: Flow, keyed: Keyed): FlowResult | null {
  const lookupStarted = performance.now();
  let entry: Entry | null = null;
  let hitKey = keyed.key;
  for (const key of keyed.lookupKeys) {
    entry = lookupEntry(flow.stores.index, key, flow.normaliser);
    hitKey = key;
    if (entry) break;
  }
  flow.phases.lookup = performance.now() - lookupStarted;
  if (!entry) return null;
  const prefetched = daemonWanted(flow.inv.settings) ? prefetchedMarker(flow.stores, entry.key) : null;
  const restoreStarted = performance.now();
  const restored = tryRestore(entry, flow.outDir, flow.stores, flow.normaliser, prefetched);
  flow.phases.restore = performance.now() - restoreStarted;
  if (restored === null) return null;
  return {
    status: { exitCode: 0, signal: null },
    replay: {
      stdout: flow.normaliser.denormalise(entry.stdout),
      stderr: flow.normaliser.denormalise(entry.stderr),
    },
    event: {
      ...baseEvent(flow, keyed),
      outcome: prefetched ? "prefetch hit" : "local hit",
      elapsedMs: performance.now() - flow.started,
      compileMs: entry.compileMs,
      size: restored.bytes,
      linkedBytes: restored.linkedBytes,
      key: hitKey,
    },
  };
}

/**
 * A lookup without a local manifest can only hit a remote entry: only then is a key before the
 * compile worth having, from the remote's input lists or else a pre-pass. Not for a crate cargo
 * compiles again incrementally where its outputs already are: that is a developer's edit, whose
 * sources no bucket has, and asking would cost every edit a pre-pass (30–250 ms). It compiles at
 * once, as plain cargo does; lists a prefetch brought in still give it a key when they match.
 */
function prepassWhenUnknown(inv: Invocation, outDir: string): "later" | false {
  if (!daemonWanted(inv.settings)) return false;
  return rebuiltInPlace(inv, outDir) ? false : "later";
}

function rebuiltInPlace(inv: Invocation, outDir: string): boolean {
  return (
    compilesIncrementally(inv) && expectedOutputs(inv.args).some((name) => existsSync(join(outDir, name)))
  );
}

/**
 * The first time a build session needs the remote (a local miss), the daemon is asked to prefetch
 * the workspace; a build of local hits never asks.
 */
async function prefetchOnce(flow: Flow, components: KeyComponents): Promise<void> {
  const started = performance.now();
  if (await startPrefetch(...prefetchArgs(flow, components)))
    flow.phases.remote = (flow.phases.remote ?? 0) + (performance.now() - started);
}

/** A prefetched entry's call says whether the session links, when no call has yet. */
async function tellLinks(flow: Flow, components: KeyComponents): Promise<void> {
  await tellSessionLinks(...prefetchArgs(flow, components));
}

/** What a call says of its build session to the daemon's prefetch. */
function prefetchArgs(flow: Flow, components: KeyComponents) {
  const { inv } = flow;
  const links = sessionLinks(inv.args, components);
  return [inv.settings, inv.projectDir, inv.env.CARGO ?? "cargo", sessionTags(components), links] as const;
}

/** The key from the remote's input lists for this fingerprint, else from a pre-pass. */
async function keyFromRemoteLists(flow: Flow, plan: KeyPlan): Promise<void> {
  await prefetchOnce(flow, plan.base);
  const started = performance.now();
  const added = await fetchManifests(flow.inv.settings, plan.fingerprint, flow.inv.args.crateName ?? "");
  flow.phases.remote = (flow.phases.remote ?? 0) + (performance.now() - started);
  if (added) plan.keyed = keyFromManifest(plan, flow.stores);
  if (!plan.keyed) keyByPrepass(plan, flow.stores);
}

/**
 * Asks the daemon to bring the entry from the remote cache; restores it when it did. An incremental
 * call asks for its own key, then for a plain build's (CI's, `CARGO_INCREMENTAL=0`), as it looks up
 * locally.
 */
async function remoteHit(flow: Flow, keyed: Keyed): Promise<FlowResult | null> {
  if (!daemonWanted(flow.inv.settings)) return null;
  await prefetchOnce(flow, keyed.components);
  const started = performance.now();
  let fetched = false;
  for (const key of keyed.lookupKeys) {
    fetched = await remoteCheck(flow.inv.settings, key, flow.inv.args.crateName ?? "");
    if (fetched) break;
  }
  flow.phases.remote = (flow.phases.remote ?? 0) + (performance.now() - started);
  if (!fetched) return null;
  const hit = lookupAndRestore(flow, keyed);
  if (hit) hit.event.outcome = "remote hit";
  return hit;
}

export async function cachedCompile(inv: Invocation, state: FlowState): Promise<FlowResult> {
  const started = performance.now();
  const { args, settings } = inv;
  const outDir = resolve(inv.cwd, args.outDir!);
  // rustc makes a missing --out-dir; cargo makes it first, a direct caller may not. The call's clock
  // is read by a probe file in it, and a hit is restored into it: kache must not need it to exist.
  mkdirSync(outDir, { recursive: true });
  const index = IndexDb.open(settings.cacheDir);
  const stores: Stores = { index, blobs: new BlobStore(settings.cacheDir), memo: new FileHashMemo(index) };
  // Cargo names a workspace member's source relative to the workspace it runs the compiler in.
  const workspace = isAbsolute(args.input!) ? null : inv.cwd;
  const normaliser = new PathNormaliser(detectRoots(workspace, inv.cwd, outDir, args.target, inv.env));
  const flow: Flow = { inv, state, stores, normaliser, outDir, phases: {}, started };
  try {
    return await runFlow(flow);
  } finally {
    stores.memo.flush();
  }
}

async function runFlow(flow: Flow): Promise<FlowResult> {
  const { inv, stores, normaliser, outDir } = flow;
  const prepass = prepassWhenUnknown(inv, outDir);
  const plan = planKey(inv, stores, normaliser, prepass, fileSystemClockNs(outDir));
  try {
    if (prepass && !plan.keyed && !plan.passthrough && inv.settings.directMode)
      await keyFromRemoteLists(flow, plan);
    return await keyedFlow(flow, plan);
  } finally {
    plan.scratch.remove();
  }
}

async function keyedFlow(flow: Flow, plan: KeyPlan): Promise<FlowResult> {
  const { inv, stores, normaliser, started } = flow;
  const { settings } = inv;
  if (plan.keyed?.usedPrepass) flow.phases.prepass = plan.keyed.prepassMs;
  flow.phases.key = performance.now() - started;
  if (plan.passthrough) return passthroughCompile(flow, plan.passthrough);
  if (plan.keyed) {
    const local = lookupAndRestore(flow, plan.keyed);
    if (local?.event.outcome === "prefetch hit") await tellLinks(flow, plan.keyed.components);
    const hit = local ?? (await remoteHit(flow, plan.keyed));
    if (hit) return hit;
  }
  // Without a key yet, the fingerprint serialises identical calls of one workspace (two target
  // dirs, say): the second finds the manifest the first recorded and restores its entry. Another
  // worktree, maybe on another branch, compiles on its own instead of waiting for other sources.
  const workspace = normaliser.signatureOf(["WORKSPACE"]);
  const lockName = plan.keyed?.key ?? `fingerprint-${hashParts([plan.fingerprint, workspace])}`;
  const lock = await acquireKeyLock(settings.cacheDir, lockName, LOCK_WAIT_MS);
  try {
    // Look again under the lock, waited or not: the holder may have stored it just before we took
    // it, or may still be storing it in the background.
    await waitForPendingStore(settings.cacheDir, lockName);
    if (settings.directMode) plan.keyed ??= keyFromManifest(plan, stores);
    const hit = plan.keyed ? lookupAndRestore(flow, plan.keyed) : null;
    if (hit) return hit;
    return await compileAndStore(flow, plan, lockName);
  } finally {
    lock.release();
  }
}

function dropLinesWith(text: string, needle: string): string {
  return text
    .split("\n")
    .filter((line) => !line.includes(needle))
    .join("\n");
}

/** For gc's sweep of unused incremental dirs (clean_incremental): a miss costs a row read for it. */
function noteIncrementalDir(flow: Flow): void {
  try {
    rememberIncrementalDir(flow.stores.index, resolve(flow.inv.cwd, flow.inv.args.incrementalDir!));
  } catch (error) {
    log.debug(`could not note the incremental dir: ${describeError(error)}`);
  }
}

async function compileAndStore(flow: Flow, plan: KeyPlan, lockName: string): Promise<FlowResult> {
  const { inv, normaliser, outDir } = flow;
  unlinkOutputs(inv.args, outDir);
  const remaps = remapWanted(inv.args) ? normaliser.remapArgs() : [];
  const command = (p: KeyPlan) => [...inv.command, ...remaps, ...compilerArgs(inv), ...planCompileArgs(p)];
  const startedWallMs = Date.now();
  flow.state.compiled = true;
  // rustc remaps its diagnostics too: cargo (and `cargo fix`, an editor) must see this machine's paths.
  const shown = remaps.length ? (text: string) => normaliser.denormalise(text) : undefined;
  const tried = plan.linkStyleUntried
    ? await compileTryingLinkStyle(plan, flow.stores, command, shown ?? ((text) => text))
    : undefined;
  if (tried === null) return passthroughCompile(flow, "link-inputs-unknown");
  const run = tried ?? (await runCaptured(command(plan), inv.cwd, undefined, { shown }));
  flow.state.status = { exitCode: run.exitCode, signal: run.signal };
  flow.phases.compile = run.ms;
  if (compilesIncrementally(inv)) noteIncrementalDir(flow);
  const failed = run.exitCode !== 0 || run.signal !== null;
  let keyed: Keyed | null = null;
  let size = 0;
  if (!failed) {
    const keyStarted = performance.now();
    keyed = keyAfterCompile(plan, outDir);
    flow.phases.key = (flow.phases.key ?? 0) + (performance.now() - keyStarted);
    if (!keyed) log.info(`${inv.args.crateName}: not cached: its inputs could not be read after the compile`);
  }
  if (keyed) {
    // The side dep-info's artifact notice names a temp file; cargo ignores it, replays need not carry it.
    const stored = plan.sideDepInfo ? { ...run, stderr: dropLinesWith(run.stderr, plan.sideDepInfo) } : run;
    const storeStarted = performance.now();
    size = await storeAfterMiss({
      plan,
      keyed,
      run: stored,
      startedWallMs,
      lockName,
      outDir,
      normaliser,
      stores: flow.stores,
    });
    flow.phases.store = performance.now() - storeStarted;
  }
  return {
    status: { exitCode: run.exitCode, signal: run.signal },
    event: {
      ...baseEvent(flow, keyed ?? plan.keyed),
      outcome: failed ? "passthrough" : "miss",
      reason: failed ? "compile-failed" : undefined,
      elapsedMs: performance.now() - flow.started,
      compileMs: run.ms,
      size,
      key: keyed?.key ?? null,
    },
  };
}

async function passthroughCompile(flow: Flow, reason: PlanPassthrough): Promise<FlowResult> {
  const { inv } = flow;
  flow.state.compiled = true;
  const notices = { warn: true, markerDir: inv.settings.cacheDir };
  const run = await runCapturedCall([...inv.command, ...compilerArgs(inv)], inv.cwd, inv.settings, notices);
  flow.state.status = { exitCode: run.exitCode, signal: run.signal };
  return {
    status: { exitCode: run.exitCode, signal: run.signal },
    event: {
      ...baseEvent(flow, null),
      prepass: reason === "prepass-failed",
      outcome: "passthrough",
      reason,
      elapsedMs: run.ms,
      compileMs: run.ms,
      size: 0,
      key: null,
    },
  };
}
