// Computes the cache key for one call: direct-mode manifest first, then the pre-pass or the compile's
// own dep-info; for a link, also the list of files the linker read.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { collectExtraInputs, readCrateConfig } from "../config/crate-config";
import { formatIssue } from "../config/load";
import type { BlobStore } from "../store/blobs";
import type { FileHashMemo } from "../store/file-hash-memo";
import type { IndexDb } from "../store/index-db";
import { describeError } from "../util/errors";
import { log } from "../util/log";
import type { PathNormaliser } from "../util/path-roots";
import { ScratchDir } from "../util/scratch-dir";
import { digestKey, type KeyComponents } from "./cache-key";
import { type DepInfo, parseDepInfo, runPrepass } from "./dep-info";
import {
  hashInputs,
  inputsFromManifest,
  invocationFingerprint,
  type KnownInputs,
  manifestText,
  recordManifest,
} from "./direct-mode";
import type { Invocation } from "./invocation";
import { buildKeyComponents, buildKind, type KeyContext, withDepInfo } from "./key-components";
import { externalLinkInputs, type LinkListStyle, linkListArgs, readLinkList } from "./link-inputs";
import { knownLinkListStyle, likelyLinkListStyle } from "./link-probe";
import { resolveNativeCpu } from "./native-cpu";
import { bundlesClosure, fileStem, linksWithLto, producesExecutable } from "./output-files";
import type { RustcArgs } from "./rustc-args";
import { compilerIdentity, isUnder, toolVersion } from "./tool-identity";

export interface Stores {
  index: IndexDb;
  blobs: BlobStore;
  memo: FileHashMemo;
}

export interface Keyed {
  /** The key this call's own outputs are stored under. */
  key: string;
  /** Keys whose entries this call may take, own first: an incremental call also takes plain outputs. */
  lookupKeys: string[];
  components: KeyComponents;
  target: string;
  inputs: KnownInputs;
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
  let nativeCpu: string | undefined;
  return {
    args,
    cwd: inv.cwd,
    env: inv.env,
    compiler,
    wrapperVersion: inv.wrapper ? toolVersion(stores.index, inv.wrapper) : null,
    normaliser,
    memo: stores.memo,
    linkerVersion: producesExecutable(args) ? toolVersion(stores.index, linker) : null,
    nativeCpu: () => {
      nativeCpu ??= resolveNativeCpu(stores.index, inv.compiler, compiler, args.target);
      return nativeCpu;
    },
    remapApplied: remapWanted(args),
    incremental: compilesIncrementally(inv),
    salt: inv.settings.keySalt,
    keyEnvVars: inv.settings.keyEnvVars,
    extraInputs: { patterns: crateConfig.extraInputs, files: extra?.files ?? [] },
    hashedFiles: new Set(extra?.files.map((file) => file.absolute)),
  };
}

export type PlanPassthrough = "prepass-failed" | "link-inputs-unknown" | "lto";

export interface KeyPlan {
  inv: Invocation;
  ctx: KeyContext;
  base: KeyComponents;
  /** Everything in the key except sources, env-deps and link inputs: names the direct-mode manifest. */
  fingerprint: string;
  /** The call links an executable or shared object: the linker's input list is part of the key. */
  linking: boolean;
  linkStyle: LinkListStyle;
  /**
   * No link with this compiler, linker and flags has shown `linkStyle` to work yet: the compile
   * tries it (see compileAndStore), so a cold cache's first link costs no probe.
   */
  linkStyleUntried: boolean;
  /** The key when known before compiling (for lookup); null means compile first and key afterwards. */
  keyed: Keyed | null;
  /** The call cannot be keyed at all and passes through. */
  passthrough: PlanPassthrough | null;
  /** The filesystem clock when the call started: inputs changed at or after it are untrusted. */
  callStartNs: bigint;
  /** This call's private temp dir (side dep-info, the linker's input list). */
  scratch: ScratchDir;
  /**
   * Compiling first without a dep-info output of its own (e.g. a build script's `--emit=metadata`
   * probe): the compile also writes dep-info here, outside the out-dir, for the key.
   */
  sideDepInfo: string | null;
  /** Where the linker writes the files it read, for a linking call. */
  linkList: string | null;
  /** Sources the pre-pass found, when it ran but no key could be made before the link. */
  prepassDepInfo: DepInfo | null;
}

function finishKey(plan: KeyPlan, inputs: KnownInputs, prepassMs: number, usedPrepass: boolean): Keyed {
  const components = withDepInfo(plan.base, plan.ctx, inputs.depInfo, inputs.hashes, inputs.links);
  const key = digestKey(components);
  const plain = plan.ctx.incremental ? [digestKey({ ...components, incremental: [buildKind(false)] })] : [];
  return {
    key,
    lookupKeys: [key, ...plain],
    components,
    target: plan.ctx.compiler.host,
    inputs,
    prepassMs,
    usedPrepass,
  };
}

/** The key from a still-valid direct-mode manifest, or null. */
export function keyFromManifest(plan: KeyPlan, stores: Stores): Keyed | null {
  const inputs = inputsFromManifest(stores.index, plan.fingerprint, plan.ctx, plan.linking);
  return inputs ? finishKey(plan, inputs, 0, false) : null;
}

function newPlan(inv: Invocation, stores: Stores, normaliser: PathNormaliser, callStartNs: bigint): KeyPlan {
  const ctx = keyContext(inv, stores, normaliser);
  const linking = producesExecutable(inv.args);
  const base = buildKeyComponents(ctx, linking);
  return {
    inv,
    ctx,
    base,
    fingerprint: invocationFingerprint(base),
    linking,
    linkStyle: "none",
    linkStyleUntried: false,
    keyed: null,
    passthrough: null,
    callStartNs,
    scratch: new ScratchDir(),
    sideDepInfo: null,
    linkList: null,
    prepassDepInfo: null,
  };
}

/**
 * Plans the key. A valid manifest gives it at once. Without one, the dep-info pre-pass runs only
 * when a lookup could still hit (`prepassWhenUnknown`, e.g. a remote cache is configured);
 * otherwise nothing local can match, so the compile runs first and its own dep-info gives the key.
 * With direct mode off, every call runs the pre-pass, as sccache does. A link whose linker cannot
 * list what it read is not cached at all.
 */
export function planKey(
  inv: Invocation,
  stores: Stores,
  normaliser: PathNormaliser,
  /** "later": the caller may find an input list elsewhere first, then calls keyByPrepass. */
  prepassWhenUnknown: boolean | "later",
  callStartNs: bigint,
): KeyPlan {
  const plan = newPlan(inv, stores, normaliser, callStartNs);
  if (bundlesClosure(inv.args)) {
    plan.passthrough = "link-inputs-unknown";
    return plan;
  }
  if (plan.linking && linksWithLto(inv.args)) {
    plan.passthrough = "lto";
    return plan;
  }
  if (plan.linking) {
    const known = knownLinkListStyle(stores.index, plan.ctx.compiler, plan.ctx.linkerVersion ?? "", inv.args);
    plan.linkStyle = known ?? likelyLinkListStyle(plan.ctx.compiler, inv.args);
    plan.linkStyleUntried = known === null;
    if (plan.linkStyle === "none") {
      plan.passthrough = "link-inputs-unknown";
      return plan;
    }
    plan.linkList = plan.scratch.file("link-inputs.d");
  }
  const direct = inv.settings.directMode;
  plan.keyed = direct ? keyFromManifest(plan, stores) : null;
  if (plan.keyed) return plan;
  if (direct && !prepassWhenUnknown) {
    if (!inv.args.emit.includes("dep-info")) plan.sideDepInfo = plan.scratch.file("dep-info.d");
    return plan;
  }
  if (direct && prepassWhenUnknown === "later") return plan;
  return keyByPrepass(plan, stores);
}

/** Learns the sources from a dep-info pre-pass, then keys the call (a link: only with a recorded list). */
export function keyByPrepass(plan: KeyPlan, stores: Stores): KeyPlan {
  const { inv } = plan;
  const prepass = runPrepass(inv.command, inv.args.compileArgs, inv.cwd);
  if (!prepass.depInfo) {
    plan.passthrough = "prepass-failed";
    return plan;
  }
  plan.prepassDepInfo = prepass.depInfo;
  if (plan.linking) {
    // The pre-pass names the sources but not what the link will read: a recorded list must.
    const inputs = inputsFromManifest(stores.index, plan.fingerprint, plan.ctx, true, prepass.depInfo);
    plan.keyed = inputs ? finishKey(plan, inputs, prepass.ms, true) : null;
    return plan;
  }
  const inputs = {
    depInfo: prepass.depInfo,
    hashes: hashInputs(plan.ctx, prepass.depInfo, null),
    links: null,
  };
  recordInputs(plan, stores, inputs);
  plan.keyed = finishKey(plan, inputs, prepass.ms, true);
  return plan;
}

/** Cargo asked for `-C incremental` and cache.incremental is `keep`. */
export function compilesIncrementally(inv: Invocation): boolean {
  return inv.settings.incremental === "keep" && inv.args.incrementalDir !== null;
}

/** The call's own arguments as the compiler gets them: `-C incremental` back when it is kept. */
export function compilerArgs(inv: Invocation): string[] {
  const incremental = compilesIncrementally(inv) ? ["-C", `incremental=${inv.args.incrementalDir}`] : [];
  return [...inv.args.compileArgs, ...incremental];
}

/** The flags the compile gets on top of the call's own: side dep-info and the link's input list. */
export function planCompileArgs(plan: KeyPlan): string[] {
  const extra: string[] = [];
  if (plan.sideDepInfo) {
    // An explicit --emit replaces rustc's default (link): name it, or the compile makes no output.
    const kinds = plan.inv.args.emit.length === 0 ? "link," : "";
    extra.push(`--emit=${kinds}dep-info=${plan.sideDepInfo}`);
  }
  if (plan.linkList) extra.push(...linkListArgs(plan.linkStyle, plan.linkList));
  return extra;
}

function compiledDepInfo(plan: KeyPlan, outDir: string): DepInfo | null {
  const known = plan.keyed?.inputs.depInfo ?? plan.prepassDepInfo;
  if (known) return known;
  try {
    return parseDepInfo(
      readFileSync(plan.sideDepInfo ?? join(outDir, `${fileStem(plan.inv.args)}.d`), "utf8"),
    );
  } catch {
    return null;
  }
}

function compiledLinks(plan: KeyPlan, outDir: string): string[] | null {
  if (!plan.linking || !plan.linkList) return null;
  try {
    return externalLinkInputs(
      readLinkList(plan.linkStyle, plan.linkList),
      plan.inv.args,
      plan.inv.cwd,
      outDir,
    );
  } catch {
    return null;
  }
}

/**
 * After a successful compile: the key its outputs are stored under. A call keyed before compiling
 * keeps that key, except a link, which is keyed from what the linker really read. A compile-first
 * call is keyed from the dep-info the compile wrote. Null when the inputs cannot be known.
 */
export function keyAfterCompile(plan: KeyPlan, outDir: string): Keyed | null {
  if (plan.keyed && !plan.linking) return plan.keyed;
  const depInfo = compiledDepInfo(plan, outDir);
  if (!depInfo) return null;
  const links = compiledLinks(plan, outDir);
  if (plan.linking && !links) return null;
  const inputs = { depInfo, hashes: hashInputs(plan.ctx, depInfo, links), links };
  return finishKey(
    plan,
    inputs,
    plan.keyed?.prepassMs ?? 0,
    plan.keyed?.usedPrepass ?? plan.prepassDepInfo !== null,
  );
}

/**
 * The input list a store records with its entry: a compile-first call's and a link's (what the
 * linker read), never again one the lookup already came from.
 */
export function manifestToRecord(plan: KeyPlan, keyed: Keyed): { fingerprint: string; text: string } | null {
  if (keyed === plan.keyed) return null;
  return { fingerprint: plan.fingerprint, text: manifestText(plan.ctx, keyed.inputs) };
}

/**
 * Saves a pre-pass's input list as a manifest before the compile: its key is already known, so a
 * wrapper it leads there waits on that key's lock. Compile-first lists and links are recorded with
 * their entry instead (commitStoreJob). Refused when an input changed during the call.
 */
export function recordInputs(plan: KeyPlan, stores: Stores, inputs: KnownInputs): void {
  try {
    const guarded = keyedFiles(plan, inputs);
    if (!recordManifest(stores.index, plan.fingerprint, plan.ctx, inputs, guarded, plan.callStartNs)) {
      log.debug(`${plan.inv.args.crateName}: an input changed during the call; manifest not recorded`);
    }
  } catch (error) {
    log.debug(`could not record the manifest: ${describeError(error)}`);
  }
}

/**
 * Every file whose content went into the key: none may have changed while the compiler read it.
 * The sysroot's files are keyed by the compiler's identity, not read, so their ctime (a hardlink
 * copy of the toolchain changes it) says nothing.
 */
export function keyedFiles(plan: KeyPlan, inputs: KnownInputs): string[] {
  const links = (inputs.links ?? []).filter((path) => !isUnder(path, plan.ctx.compiler.sysroot));
  return [...inputs.depInfo.sources, ...links, ...plan.ctx.hashedFiles];
}

/** Coverage instrumentation needs real source paths, so remapping is skipped (and recorded in the key). */
export function remapWanted(args: RustcArgs): boolean {
  return (
    !args.codegen.some(([k]) => k === "instrument-coverage") &&
    !args.otherFlags.some((f) => f.includes("instrument-coverage"))
  );
}
