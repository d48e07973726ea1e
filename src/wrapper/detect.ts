// Decides from argv alone whether kache was invoked as a compiler wrapper.
import { basename } from "node:path";

const COMPILER_NAMES = new Set(["rustc", "clippy-driver"]);

export function compilerName(arg: string | undefined): string | null {
  if (!arg) return null;
  const name = basename(arg).replace(/\.exe$/i, "");
  return COMPILER_NAMES.has(name) ? name : null;
}

/**
 * True when argv (after the program) starts with a compiler, or with another wrapper
 * followed by rustc (RUSTC_WORKSPACE_WRAPPER chains cargo may build for us).
 */
export function isWrapperInvocation(args: string[]): boolean {
  if (compilerName(args[0])) return true;
  return Boolean(args[0]?.includes("/")) && compilerName(args[1]) === "rustc";
}
