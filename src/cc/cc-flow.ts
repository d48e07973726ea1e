// The compile-or-restore flow of one cacheable C/C++ call: preprocess, key, lookup, restore a hit
// or compile, and store the miss under the key's lock.
import { basename, dirname, resolve } from "node:path";
import type { Settings } from "../config/settings";
import { BlobStore } from "../store/blobs";
import { FileHashMemo } from "../store/file-hash-memo";
import { IndexDb } from "../store/index-db";
import { acquireKeyLock } from "../store/key-lock";
import { DamagedEntryError } from "../store/restore";
import { describeError } from "../util/errors";
import { log } from "../util/log";
import { detectRoots, PathNormaliser } from "../util/path-roots";
import { storeFailureWarning } from "../wrapper/cache-failure";
import { type CapturedRun, runCaptured } from "../wrapper/compiler-process";
import { daemonWanted, handOffUpload, remoteCheck } from "../wrapper/daemon-hooks";
import type { Outcome, PassthroughReason } from "../wrapper/outcomes";
import { lookupEntry } from "../wrapper/record-entry";
import type { InvocationEvent, Phases } from "../wrapper/report";
import { type CcArgs, depFilePath, includeDirsOf, objectPath } from "./cc-args";
import { ccFingerprint, directKey, recordManifest } from "./cc-direct";
import { type CcKey, callComponents, keyCall, remapFlags } from "./cc-key";
import { type CcOutputs, restoreCcEntry, storeCcEntry } from "./cc-store";
import { CC_LOOP_GUARD } from "./real-compiler";

/** How long a second process waits for another compiling the same key before compiling itself. */
const LOCK_WAIT_MS = 10 * 60_000;

export interface CcCall {
  /** The real compiler, as it is run. */
  compiler: string;
  /** The call's arguments, exactly as given. */
  args: string[];
  parsed: CcArgs;
  cwd: string;
  env: Record<string, string | undefined>;
  settings: Settings;
}

export type Status = { exitCode: number; signal: string | null };

/** The flow reports through this so the caller knows whether the compiler ran when an error escapes. */
export interface CcFlowState {
  compiled: boolean;
  status?: Status;
}

export interface CcResult {
  status: Status;
  /** A hit's stored stderr (warnings), written after the progress line. */
  replayStderr?: string;
  event: InvocationEvent;
}

interface Flow {
  call: CcCall;
  state: CcFlowState;
  index: IndexDb;
  blobs: BlobStore;
  normaliser: PathNormaliser;
  outputs: CcOutputs;
  remap: string[];
  memo: FileHashMemo;
  phases: Phases;
  started: number;
  startedWallMs: number;
}

/** Roots as the Rust path sees them; under cargo the target dir comes from the build script's OUT_DIR. */
export function ccRoots(cwd: string, env: Record<string, string | undefined>) {
  const unitDir = env.OUT_DIR ? dirname(resolve(cwd, env.OUT_DIR)) : null;
  return detectRoots(cwd, cwd, unitDir, env.TARGET ?? null, env);
}

function event(flow: Flow, outcome: Outcome, fields: Partial<InvocationEvent>): InvocationEvent {
  return {
    crate: basename(flow.call.parsed.source ?? ""),
    language: flow.call.parsed.language ?? "c",
    outcome,
    elapsedMs: performance.now() - flow.started,
    compileMs: 0,
    size: 0,
    key: null,
    phases: flow.phases,
    prepass: false,
    outDir: dirname(flow.outputs.object),
    ...fields,
  };
}

function compilerEnv(env: Record<string, string | undefined>) {
  return { ...env, [CC_LOOP_GUARD]: "1" };
}

/** Restores the entry under `key` when there is one; null on a miss or a damaged entry (dropped). */
function tryHit(flow: Flow, keyed: CcKey, outcome: Outcome): CcResult | null {
  const lookupStarted = performance.now();
  const entry = lookupEntry(flow.index, keyed.key, flow.normaliser);
  flow.phases.lookup = (flow.phases.lookup ?? 0) + (performance.now() - lookupStarted);
  if (!entry) return null;
  const restoreStarted = performance.now();
  let size: number;
  try {
    size = restoreCcEntry(flow.blobs, entry, flow.outputs, flow.normaliser);
  } catch (error) {
    log.warn(`could not restore ${entry.crate} (${describeError(error)}); compiling instead`);
    if (error instanceof DamagedEntryError) flow.index.deleteEntry(entry.key);
    return null;
  }
  flow.phases.restore = performance.now() - restoreStarted;
  try {
    flow.index.recordHit(entry.key, Date.now());
  } catch (error) {
    log.debug(`could not record the hit: ${describeError(error)}`);
  }
  return {
    status: { exitCode: 0, signal: null },
    replayStderr: flow.normaliser.denormalise(entry.stderr),
    event: event(flow, outcome, { compileMs: entry.compileMs, size, key: keyed.key }),
  };
}

/** Asks the daemon to bring the entry from the remote cache; restores it when it did. */
async function remoteHit(flow: Flow, keyed: CcKey): Promise<CcResult | null> {
  const { settings } = flow.call;
  if (!daemonWanted(settings)) return null;
  const started = performance.now();
  const fetched = await remoteCheck(settings, keyed.key, basename(flow.call.parsed.source ?? ""));
  flow.phases.remote = performance.now() - started;
  return fetched ? tryHit(flow, keyed, "remote hit") : null;
}

/** Runs the compiler as the call asked (plus the remap) and reports what it did. */
async function compile(flow: Flow, extra: string[]): Promise<CapturedRun> {
  const { call } = flow;
  flow.state.compiled = true;
  const run = await runCaptured([call.compiler, ...extra, ...call.args], call.cwd, compilerEnv(call.env));
  flow.state.status = { exitCode: run.exitCode, signal: run.signal };
  flow.phases.compile = run.ms;
  return run;
}

/** A compile kache decided mid-flow not to cache: the compiler's own answer, nothing stored. */
async function uncachedCompile(flow: Flow, reason: PassthroughReason): Promise<CcResult> {
  const run = await compile(flow, []);
  const failed = run.exitCode !== 0 || run.signal !== null;
  return {
    status: { exitCode: run.exitCode, signal: run.signal },
    event: event(flow, "passthrough", { reason: failed ? "compile-failed" : reason, compileMs: run.ms }),
  };
}

async function storeMiss(flow: Flow, keyed: CcKey, run: CapturedRun): Promise<number> {
  const { call } = flow;
  const started = performance.now();
  try {
    const job = {
      key: keyed.key,
      crate: basename(call.parsed.source!),
      language: call.parsed.language!,
      target: keyed.target,
      components: keyed.components,
      outputs: flow.outputs,
      stderr: run.stderr,
      compileMs: run.ms,
    };
    const stored = storeCcEntry({ index: flow.index, blobs: flow.blobs }, job, flow.normaliser);
    if (stored.boundTo.length)
      log.info(
        `${job.crate}: the object names local paths (${stored.boundTo.join(",")}); cached for this location only`,
      );
    if (daemonWanted(call.settings))
      await handOffUpload(call.settings, stored.key, job.crate, call.settings.remote, null);
    return stored.size;
  } catch (error) {
    const warning = storeFailureWarning(call.parsed.source ?? "", error, call.settings.cacheDir);
    if (warning) log.warn(warning);
    return 0;
  } finally {
    flow.phases.store = performance.now() - started;
  }
}

async function compileAndStore(flow: Flow, keyed: CcKey): Promise<CcResult> {
  const run = await compile(flow, flow.remap);
  const status = { exitCode: run.exitCode, signal: run.signal };
  if (run.exitCode !== 0 || run.signal !== null)
    return { status, event: event(flow, "passthrough", { reason: "compile-failed", compileMs: run.ms }) };
  const size = await storeMiss(flow, keyed, run);
  return { status, event: event(flow, "miss", { compileMs: run.ms, size, key: keyed.key }) };
}

function openFlow(call: CcCall, state: CcFlowState): Flow {
  const index = IndexDb.open(call.settings.cacheDir);
  const normaliser = new PathNormaliser(ccRoots(call.cwd, call.env));
  const depFile = depFilePath(call.parsed);
  const outputs = {
    object: resolve(call.cwd, objectPath(call.parsed)),
    depFile: depFile === null ? null : resolve(call.cwd, depFile),
  };
  const blobs = new BlobStore(call.settings.cacheDir);
  const remap = remapFlags(call.parsed, normaliser);
  const memo = new FileHashMemo(index);
  const started = performance.now();
  return {
    call,
    state,
    index,
    blobs,
    normaliser,
    outputs,
    remap,
    memo,
    phases: {},
    started,
    startedWallMs: Date.now(),
  };
}

/** The request every key computation of this call shares. */
function keyRequest(flow: Flow) {
  const { call } = flow;
  const env = compilerEnv(call.env);
  return {
    ...call,
    env,
    index: flow.index,
    normaliser: flow.normaliser,
    remap: flow.remap,
    salt: call.settings.keySalt,
    keyEnvVars: call.settings.keyEnvVars,
  };
}

/** Direct mode: a recorded input list that still matches gives the key without the preprocessor. */
function directLookup(flow: Flow): { fingerprint: string; hit: CcResult | null } {
  const { call } = flow;
  const partial = callComponents(keyRequest(flow));
  const fingerprint = ccFingerprint(partial.components, call.parsed, call.cwd, call.env, flow.normaliser);
  const key = directKey(flow.index, flow.memo, fingerprint, call.cwd, flow.normaliser);
  flow.phases.key = performance.now() - flow.started;
  return { fingerprint, hit: key ? tryHit(flow, { ...partial, key }, "local hit") : null };
}

/** After a preprocessed lookup that ends with an entry, its input list lets the next call go direct. */
function remember(flow: Flow, fingerprint: string | null, key: string, inputs: string[]): void {
  if (!fingerprint) return;
  try {
    const { parsed, cwd, env } = flow.call;
    recordManifest(
      flow,
      fingerprint,
      key,
      { names: inputs, includeDirs: includeDirsOf(parsed, env), cwd },
      flow.normaliser,
      flow.startedWallMs,
    );
  } catch (error) {
    log.debug(`could not record the input list: ${describeError(error)}`);
  }
}

async function preprocessedFlow(flow: Flow, fingerprint: string | null): Promise<CcResult> {
  const { call } = flow;
  const keying = keyCall(keyRequest(flow));
  flow.phases.prepass = keying.preprocessMs;
  if ("passthrough" in keying) return await uncachedCompile(flow, keying.passthrough);
  const { keyed, inputs } = keying;
  flow.phases.key = performance.now() - flow.started;
  const hit = tryHit(flow, keyed, "local hit") ?? (await remoteHit(flow, keyed));
  if (hit) {
    remember(flow, fingerprint, keyed.key, inputs);
    return hit;
  }
  const lock = await acquireKeyLock(call.settings.cacheDir, keyed.key, LOCK_WAIT_MS);
  try {
    // Another process may have compiled the same key while this one waited for the lock.
    const result = tryHit(flow, keyed, "local hit") ?? (await compileAndStore(flow, keyed));
    if (result.event.outcome !== "passthrough" && result.event.size > 0)
      remember(flow, fingerprint, keyed.key, inputs);
    return result;
  } finally {
    lock.release();
  }
}

export async function ccCachedCompile(call: CcCall, state: CcFlowState): Promise<CcResult> {
  const flow = openFlow(call, state);
  try {
    const direct = call.settings.directMode ? directLookup(flow) : null;
    return direct?.hit ?? (await preprocessedFlow(flow, direct?.fingerprint ?? null));
  } finally {
    flow.memo.flush();
    flow.index.close();
  }
}
