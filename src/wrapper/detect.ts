// Decides from argv alone whether kache was invoked as a compiler wrapper, and which argument is what.
import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { basename } from "node:path";
import { COMMAND_NAMES } from "../command-names";

const COMPILER_NAMES = new Set(["rustc", "clippy-driver"]);

export function compilerName(arg: string | undefined): string | null {
  if (!arg) return null;
  const name = basename(arg).replace(/\.exe$/i, "");
  return COMPILER_NAMES.has(name) ? name : null;
}

export function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when `arg` names a program: a path to an executable file, or a name found on PATH. */
export function namesExecutable(arg: string | undefined): boolean {
  if (!arg || arg.startsWith("-") || arg.endsWith(".rs")) return false;
  if (arg.includes("/")) return isExecutableFile(arg);
  return Bun.which(arg) !== null;
}

/**
 * True when argv (after the program) starts with a compiler: `rustc`/`clippy-driver` by name, or
 * any other executable that is not a kache command (`RUSTC=rustc-1.95`, `RUSTC=/opt/bin/my-rustc`).
 * Whether it really is rustc is asked of the compiler itself (`-vV`), later.
 */
export function isWrapperInvocation(args: string[]): boolean {
  const [first, next] = args;
  if (compilerName(first)) return true;
  if (!first || first.startsWith("-") || COMMAND_NAMES.has(first)) return false;
  return calledLikeACompiler(next) && namesExecutable(first);
}

/**
 * Cargo never runs its compiler without arguments, and they start with a flag, a source, `-`
 * (stdin), or the compiler behind a workspace wrapper. `kache test` or `kache install` is a
 * mistyped command, not a compiler named test or install.
 */
function calledLikeACompiler(next: string | undefined): boolean {
  if (next === undefined) return false;
  return next.startsWith("-") || next.endsWith(".rs") || compilerName(next) !== null || namesExecutable(next);
}

export interface CommandLine {
  /** What runs: the compiler, or a wrapper (clippy-driver) followed by the compiler. */
  command: string[];
  compiler: string;
  wrapper: string | null;
  /** The compiler's own arguments. */
  rest: string[];
  /** A wrapper other than clippy-driver sits in front of the compiler. */
  unknownWrapper: boolean;
}

/** True when `arg` is this very kache, by path or by name on PATH. */
function isKacheItself(arg: string | undefined): boolean {
  if (!arg || arg.startsWith("-")) return false;
  const path = arg.includes("/") ? arg : Bun.which(arg);
  try {
    return path !== null && realpathSync(path) === realpathSync(process.execPath);
  } catch {
    return false;
  }
}

/**
 * Splits `[wrapper] compiler args...`. Cargo puts RUSTC_WORKSPACE_WRAPPER (clippy-driver, or another
 * tool) before RUSTC; a second argument is taken for the compiler when it is named rustc, or when it
 * names an executable (rustc's own first argument is a flag or a source file, never a program).
 */
export function splitCommandLine(argv: string[]): CommandLine {
  const [first, second] = argv as [string, string | undefined];
  // kache set as RUSTC_WORKSPACE_WRAPPER too: one kache caches the call, not one inside the other.
  if (compilerName(first) === null && isKacheItself(first) && argv.length > 1)
    return splitCommandLine(argv.slice(1));
  const alone = {
    command: [first],
    compiler: first,
    wrapper: null,
    rest: argv.slice(1),
    unknownWrapper: false,
  };
  if (compilerName(first) === "rustc") return alone;
  const secondIsCompiler = compilerName(second) === "rustc" || namesExecutable(second);
  if (!secondIsCompiler)
    return compilerName(first) === "clippy-driver" ? { ...alone, wrapper: first } : alone;
  return {
    command: [first, second!],
    compiler: second!,
    wrapper: first,
    rest: argv.slice(2),
    unknownWrapper: compilerName(first) !== "clippy-driver",
  };
}
