// Computes the cache key for one call: direct-mode manifest first, then the pre-pass or the compile's own dep-info.
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectExtraInputs, readCrateConfig } from "../config/crate-config";
import { formatIssue } from "../config/load";
import type { BlobStore } from "../store/blobs";
import type { FileHashMemo } from "../store/file-hash-memo";
import type { IndexDb } from "../store/index-db";
import { describeError } from "../util/errors";
import { log } from "../util/log";
import { digestKey, type KeyComponents } from "./cache-key";
import type { Invocation } from "./cached-compile";
import { type DepInfo, parseDepInfo, runPrepass } from "./dep-info";
import {
  hashSources,
  inputsFromManifest,
  invocationFingerprint,
  type KnownInputs,
  recordManifest,
} from "./direct-mode";
import { buildKeyComponents, type KeyContext, withDepInfo } from "./key-components";
import { fileStem, producesExecutable } from "./output-files";
import type { PathNormaliser } from "./path-roots";
import type { RustcArgs } from "./rustc-args";
import { compilerIdentity, toolVersion } from "./tool-identity";

export interface Stores {
  index: IndexDb;
  blobs: BlobStore;
  memo: FileHashMemo;
}

export interface Keyed {
  key: string;
  components: KeyComponents;
  target: string;
  sources: string[];
  prepassMs: number;
  usedPrepass: boolean;
}

function keyContext(inv: Invocation, stores: Stores, normaliser: PathNormaliser): KeyContext {
  const { args } = inv;
  const compiler = compilerIdentity(stores.index, inv.compiler);
  const crateDir = inv.env.CARGO_MANIFEST_DIR;
  const crateConfig = crateDir ? readCrateConfig(crateDir) : { extraInputs: [], issues: [] };
  for (const issue of crateConfig.issues) log.warn(formatIssue(issue));
  const extra =
    crateDir && crateConfig.extraInputs.length ? collectExtraInputs(crateDir, crateConfig.extraInputs) : null;
  for (const warning of extra?.warnings ?? []) log.warn(warning);
  const linker = args.codegen.findLast(([k]) => k === "linker")?.[1] ?? "cc";
  return {
    args,
    cwd: inv.cwd,
    env: inv.env,
    compiler,
    wrapperVersion: inv.wrapper ? toolVersion(stores.index, inv.wrapper) : null,
    normaliser,
    memo: stores.memo,
    linkerVersion: producesExecutable(args) ? toolVersion(stores.index, linker) : null,
    remapApplied: remapWanted(args),
    salt: inv.settings.keySalt,
    extraInputs: { patterns: crateConfig.extraInputs, files: extra?.files ?? [] },
  };
}

export interface KeyPlan {
  inv: Invocation;
  ctx: KeyContext;
  base: KeyComponents;
  /** Everything in the key except sources and env-deps: names the direct-mode manifest. */
  fingerprint: string;
  /** The key when known before compiling; null means compile first and key from its dep-info. */
  keyed: Keyed | null;
  /** The pre-pass ran and failed: the call passes through. */
  prepassFailed: boolean;
  /** The filesystem clock when the call started: inputs changed at or after it are untrusted. */
  callStartNs: bigint;
  /**
   * Compiling first without a dep-info output of its own (e.g. a build script's `--emit=metadata`
   * probe): the compile also writes dep-info here, outside the out-dir, for the key.
   */
  sideDepInfo: string | null;
}

function finishKey(plan: KeyPlan, inputs: KnownInputs, prepassMs: number, usedPrepass: boolean): Keyed {
  const components = withDepInfo(plan.base, plan.ctx, inputs.depInfo, inputs.hashes);
  return {
    key: digestKey(components),
    components,
    target: plan.ctx.compiler.host,
    sources: inputs.depInfo.sources,
    prepassMs,
    usedPrepass,
  };
}

function remember(plan: KeyPlan, stores: Stores, inputs: KnownInputs): void {
  try {
    if (!recordManifest(stores.index, plan.fingerprint, plan.ctx, inputs, plan.callStartNs)) {
      log.debug(`${plan.inv.args.crateName}: an input changed during the call; manifest not recorded`);
    }
  } catch (error) {
    log.debug(`could not record the manifest: ${describeError(error)}`);
  }
}

/** The key from a still-valid direct-mode manifest, or null. */
export function keyFromManifest(plan: KeyPlan, stores: Stores): Keyed | null {
  const inputs = inputsFromManifest(stores.index, plan.fingerprint, plan.ctx);
  return inputs ? finishKey(plan, inputs, 0, false) : null;
}

/**
 * Plans the key. A valid manifest gives it at once. Without one, the dep-info pre-pass runs only
 * when a lookup could still hit (`prepassWhenUnknown`, e.g. a remote cache is configured);
 * otherwise nothing local can match, so the compile runs first and its own dep-info gives the key.
 * With direct mode off, every call runs the pre-pass, as sccache does.
 */
export function planKey(
  inv: Invocation,
  stores: Stores,
  normaliser: PathNormaliser,
  prepassWhenUnknown: boolean,
  callStartNs: bigint,
): KeyPlan {
  const ctx = keyContext(inv, stores, normaliser);
  const base = buildKeyComponents(ctx);
  const plan: KeyPlan = {
    inv,
    ctx,
    base,
    fingerprint: invocationFingerprint(base),
    keyed: null,
    prepassFailed: false,
    callStartNs,
    sideDepInfo: null,
  };
  const direct = inv.settings.directMode;
  plan.keyed = direct ? keyFromManifest(plan, stores) : null;
  if (plan.keyed) return plan;
  if (direct && !prepassWhenUnknown) {
    if (!inv.args.emit.includes("dep-info")) {
      plan.sideDepInfo = join(tmpdir(), `kache-depinfo-${process.pid}-${Date.now()}.d`);
    }
    return plan;
  }
  const prepass = runPrepass(inv.command, inv.args.compileArgs, inv.cwd);
  if (!prepass.depInfo) {
    plan.prepassFailed = true;
    return plan;
  }
  const inputs = { depInfo: prepass.depInfo, hashes: hashSources(ctx, prepass.depInfo) };
  if (direct) remember(plan, stores, inputs);
  plan.keyed = finishKey(plan, inputs, prepass.ms, true);
  return plan;
}

/**
 * After a compile-first miss: the key from the dep-info file the compile itself wrote. Its input
 * list is kept on the result; `recordCompiledInputs` saves it once the entry is stored, so a
 * manifest never leads another wrapper to a key whose entry is still being written.
 */
export function keyFromCompile(plan: KeyPlan, outDir: string): (Keyed & { inputs: KnownInputs }) | null {
  let depInfo: DepInfo;
  try {
    depInfo = parseDepInfo(
      readFileSync(plan.sideDepInfo ?? join(outDir, `${fileStem(plan.inv.args)}.d`), "utf8"),
    );
  } catch {
    return null;
  }
  const inputs = { depInfo, hashes: hashSources(plan.ctx, depInfo) };
  return { ...finishKey(plan, inputs, 0, false), inputs };
}

export function recordCompiledInputs(plan: KeyPlan, stores: Stores, inputs: KnownInputs): void {
  remember(plan, stores, inputs);
}

/** Coverage instrumentation needs real source paths, so remapping is skipped (and recorded in the key). */
export function remapWanted(args: RustcArgs): boolean {
  return (
    !args.codegen.some(([k]) => k === "instrument-coverage") &&
    !args.otherFlags.some((f) => f.includes("instrument-coverage"))
  );
}
