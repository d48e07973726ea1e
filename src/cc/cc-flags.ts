// The gcc/clang flags kache understands: which take a value, which name a path, which are allowed.
import type { PassthroughReason } from "../wrapper/outcomes";

/** Flags whose value may be the next argument (`-I dir`) or joined (`-Idir`). */
export const VALUE_FLAGS = [
  "-isystem",
  "-iquote",
  "-idirafter",
  "-include",
  "-imacros",
  "-isysroot",
  "--sysroot",
  "-target",
  "--target",
  "-I",
  "-D",
  "-U",
  "-o",
  "-x",
  "-MF",
  "-MT",
  "-MQ",
] as const;

export type ValueFlag = (typeof VALUE_FLAGS)[number];

/** Values that are paths: normalised by the roots for the key, so another checkout shares it. */
export const PATH_FLAGS: ReadonlySet<string> = new Set([
  "-isystem",
  "-iquote",
  "-idirafter",
  "-include",
  "-imacros",
  "-isysroot",
  "--sysroot",
  "-I",
]);

/** Flags that pass the call through whatever else it says, with the reason. */
const PASSTHROUGH_FLAGS: [RegExp, PassthroughReason][] = [
  [/^-E$/, "preprocess-only"],
  [/^-S$/, "assembly-output"],
  [/^-MM?$/, "deps-only"],
  [/^-fprofile-|^-fauto-profile|^-fbranch-probabilities$/, "profiling"],
  [/^--coverage$|^-ftest-coverage$|^-fcoverage/, "coverage"],
  [/^-save-temps/, "save-temps"],
  [/^-include-pch$/, "precompiled-header"],
  [/^@/, "response-file"],
];

/**
 * `-f` flags that write extra files, load code or compile nothing (`-fsyntax-only`): not cached.
 * Under `-fdirectives-only` the `-E` run expands no macro, so `__DATE__` would go unseen.
 */
const DENIED_F =
  /^-f(?:plugin|dump-|sanitize-coverage|stack-usage|callgraph-info|debug-types-section|syntax-only|opt-info|save-optimization-record|directives-only)/;

/** Prefix maps the user set: the compile then keeps their mapping and kache adds none. */
export const PREFIX_MAP = /^-f(?:debug|file|macro)-prefix-map=/;

/** Flags understood to change only the compile (code, warnings, diagnostics), never other files. */
const ALLOWED = [
  /^-O/,
  /^-g(?!split-dwarf)/,
  /^-W(?!a,|l,|p,)/,
  /^-f/,
  /^-m/,
  /^-std=/,
  /^-pedantic/,
  /^-ansi$/,
  /^-w$/,
  /^-pipe$/,
  /^-pthread$/,
  /^-nostdinc/,
  /^--sysroot=/,
];

/** The pass-through reason a flag forces, or null. */
export function passthroughFlag(flag: string): PassthroughReason | null {
  return PASSTHROUGH_FLAGS.find(([pattern]) => pattern.test(flag))?.[1] ?? null;
}

/** True for a flag without value that may be cached. */
export function allowedFlag(flag: string): boolean {
  if (DENIED_F.test(flag)) return false;
  return ALLOWED.some((pattern) => pattern.test(flag));
}

/** The value flag `arg` starts, and its joined value ("" when the value is the next argument). */
export function valueFlag(arg: string): { flag: ValueFlag; joined: string | null } | null {
  for (const flag of VALUE_FLAGS) {
    if (arg === flag) return { flag, joined: null };
    // Long flags take `=`; the short ones are joined directly (`-Idir`, `-DX=1`, `-ofoo.o`).
    if (flag.startsWith("--") && arg.startsWith(`${flag}=`))
      return { flag, joined: arg.slice(flag.length + 1) };
    if (flag.length === 2 && arg.startsWith(flag) && arg.length > 2) return { flag, joined: arg.slice(2) };
    if (flag.length > 2 && !flag.startsWith("--") && arg.startsWith(flag) && arg.length > flag.length)
      return flag === "-target" ? null : { flag, joined: arg.slice(flag.length) };
  }
  return null;
}
