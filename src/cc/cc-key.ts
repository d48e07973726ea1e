// The key of a C/C++ compile: compiler identity, target, language, the allow-listed flags with
// paths normalised, the path remapping, and the preprocessed source.
import { isAbsolute, resolve } from "node:path";
import type { IndexDb } from "../store/index-db";
import { hashBytes } from "../util/hash";
import type { PathNormaliser } from "../util/path-roots";
import { digestKey, KEY_COMPONENTS, type KeyComponents } from "../wrapper/cache-key";
import { declaredEnvLines } from "../wrapper/declared-env";
import type { PassthroughReason } from "../wrapper/outcomes";
import { type CcArgs, objectPath, preprocessArgs } from "./cc-args";
import { ccIdentity } from "./cc-identity";
import { nativeFlags, resolveNative } from "./cc-native";
import { runPreprocessor } from "./preprocess";

/** Bump whenever what goes into the key, or how it is written, changes. */
export const CC_KEY_FORMAT = "cc-2";

export interface CcKeyInput {
  parsed: CcArgs;
  /** The real compiler, as it is run. */
  compiler: string;
  normaliser: PathNormaliser;
  index: IndexDb;
  /** The `-E` output, line markers normalised. */
  preprocessed: string;
  /** The `-ffile-prefix-map` flags added to the -E run and the compile (empty when skipped). */
  remap: string[];
  /** cache.key_salt (KACHE_KEY_SALT), as for Rust keys. */
  salt: string;
  /** cache.key_env_vars (KACHE_KEY_ENV_VARS), as for Rust keys. */
  keyEnvVars: string[];
  env: Record<string, string | undefined>;
}

/** Variables that change which headers are found or which compiler proper runs. */
const COMPILER_ENV = [
  "CPATH",
  "C_INCLUDE_PATH",
  "CPLUS_INCLUDE_PATH",
  "OBJC_INCLUDE_PATH",
  "GCC_EXEC_PREFIX",
  "COMPILER_PATH",
  "SDKROOT",
  "SOURCE_DATE_EPOCH",
];

function envComponent(env: Record<string, string | undefined>, normaliser: PathNormaliser): string[] {
  return COMPILER_ENV.flatMap((name) =>
    env[name] === undefined ? [] : [`${name}=${normaliser.normalise(env[name]!)}`],
  );
}

export interface CcKey {
  key: string;
  target: string;
  components: KeyComponents;
}

/**
 * A flag as the key sees it: path values normalised by the roots, relative ones as given; with
 * `cwd`, relative ones resolved from it first (where the flag leads, for direct mode).
 */
export function keyFlag(
  flag: { args: string[]; path: boolean },
  normaliser: PathNormaliser,
  cwd?: string,
): string {
  if (!flag.path) return flag.args.join(" ");
  const last = flag.args.length - 1;
  const value = flag.args[last]!;
  // A joined value (`-I/x`) is the flag's tail: find where the path starts.
  const start = last === 0 ? value.search(/[/.~]|[A-Za-z]:/) : 0;
  if (start < 0) return flag.args.join(" ");
  const path = value.slice(start);
  const normalised =
    isAbsolute(path) || cwd !== undefined ? normaliser.normalisePath(resolve(cwd ?? "/", path)) : path;
  return [...flag.args.slice(0, last), value.slice(0, start) + normalised].join(" ");
}

/** What shapes the dep file's text: its mode, -MT/-MQ/-MP, and the object's name it names by default. */
function depComponent(args: CcArgs, normaliser: PathNormaliser): string[] {
  if (!args.depFile) return [];
  const lines = [args.depFile.mode, ...args.depFile.shaping.map((part) => normaliser.normalise(part))];
  if (!args.depFile.shaping.some((part) => part === "-MT" || part === "-MQ"))
    lines.push(`object=${normaliser.normalisePath(objectPath(args))}`);
  return lines;
}

/** The remap lines: the roots' names, never their paths (another checkout must match). */
function remapComponent(args: CcArgs, remap: string[]): string[] {
  if (args.userPrefixMap) return ["off: the call sets its own prefix maps"];
  if (remap.length === 0) return ["off"];
  return remap.map((flag) => `prefix-map to ${flag.slice(flag.lastIndexOf("=") + 1)}`);
}

/**
 * The key in the Rust key's components (SPEC §3), so why-miss, the remote's packing and every
 * other reader of an entry's components handle C/C++ entries unchanged; unused ones stay empty.
 */
export function ccKey(input: CcKeyInput): CcKey {
  const call = callComponents(input);
  const components = { ...call.components, sources: [`preprocessed ${hashBytes(input.preprocessed)}`] };
  return { key: digestKey(components), target: call.target, components };
}

/** Everything in the key but the preprocessed source: known before the preprocessor runs. */
export function callComponents(input: Omit<CcKeyInput, "preprocessed">): Omit<CcKey, "key"> {
  const { parsed: args, normaliser } = input;
  const identity = ccIdentity(input.index, input.compiler);
  const target = args.target ?? identity.machine;
  const components = Object.fromEntries(
    KEY_COMPONENTS.map((name) => [name, [] as string[]]),
  ) as KeyComponents;
  Object.assign(components, {
    format: [CC_KEY_FORMAT],
    compiler: [identity.version, identity.binary],
    target: [target],
    crate: [`language ${args.language ?? ""}`],
    flags: [
      ...args.flags.map((flag) => keyFlag(flag, normaliser)),
      ...depComponent(args, normaliser).map((line) => `dep file: ${line}`),
      ...nativeLines(input, identity.version, args),
    ],
    remap: remapComponent(args, input.remap),
    salt: input.salt ? [input.salt] : [],
    env: [...envComponent(input.env, normaliser), ...declaredEnvLines(input.keyEnvVars, input.env)],
  });
  return { target, components };
}

/** What `native` in the call's `-march`/`-mtune`/`-mcpu` means on this machine. */
function nativeLines(input: Omit<CcKeyInput, "preprocessed">, version: string, args: CcArgs): string[] {
  const native = nativeFlags(args.flags.flatMap((flag) => flag.args));
  if (native.length === 0) return [];
  return [`native: ${resolveNative(input.index, { path: input.compiler, version }, native, args.target)}`];
}

/**
 * `-ffile-prefix-map` for every root the key normalises, least specific first: gcc and clang apply
 * the last match. A root left out (TMPDIR once) was in the key as `<TMPDIR>` but in the object as
 * its path, so a call under another TMPDIR got an object naming this one's.
 */
export function remapFlags(parsed: CcArgs, normaliser: PathNormaliser): string[] {
  if (parsed.userPrefixMap) return [];
  return [...normaliser.roots]
    .sort((a, b) => a.path.length - b.path.length)
    .map((root) => `-ffile-prefix-map=${root.path}=<${root.name}>`);
}

export interface KeyRequest extends Omit<CcKeyInput, "preprocessed"> {
  /** The call's arguments as given. */
  args: string[];
  cwd: string;
}

export type Keying =
  | { keyed: CcKey; inputs: string[]; preprocessMs: number }
  | { passthrough: PassthroughReason; preprocessMs: number };

/** Runs the preprocessor as the compile would (remap included) and keys the call by its output. */
export function keyCall(request: KeyRequest): Keying {
  const command = [request.compiler, ...request.remap, ...preprocessArgs(request.args)];
  const pre = runPreprocessor(command, request.cwd, request.env, request.normaliser);
  if (pre.text === null) return { passthrough: "preprocess-failed", preprocessMs: pre.ms };
  if (pre.usesTime) return { passthrough: "time-macros", preprocessMs: pre.ms };
  if (pre.usesIncbin) return { passthrough: "incbin", preprocessMs: pre.ms };
  return { keyed: ccKey({ ...request, preprocessed: pre.text }), inputs: pre.inputs, preprocessMs: pre.ms };
}
