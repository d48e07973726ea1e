// Decides from argv alone whether kache runs as a C/C++ compiler: string tests on basenames, no fs.
import { basename } from "node:path";

export interface CcInvocation {
  /** The compiler name as matched (`cc`, `gcc-12`, `x86_64-linux-gnu-g++`). */
  name: string;
  /** What to look up or run: a bare name (found on PATH) or a path as given. */
  compiler: string;
  /** The compiler's own arguments. */
  args: string[];
}

/** cc, c++, gcc, g++, clang, clang++, with an optional target prefix and version suffix. */
const CC_NAME = /^(?:[A-Za-z0-9_.]+-)*(?:cc|c\+\+|gcc|g\+\+|clang|clang\+\+)(?:-\d+(?:\.\d+)*)?$/;

/** The C/C++ compiler name `arg` stands for, or null (`kache`, `rustc`, `sccache` never match). */
export function ccCompilerName(arg: string | undefined): string | null {
  if (!arg) return null;
  const name = basename(arg).replace(/\.exe$/i, "");
  return CC_NAME.test(name) ? name : null;
}

/**
 * Masquerade (a symlink named `cc` pointing at kache: Bun gives that name as argv0), or explicit
 * (`kache cc -c x.c`, `kache /usr/bin/gcc-12 ...`). Null for everything else.
 */
export function ccInvocation(argv0: string, args: string[]): CcInvocation | null {
  const masquerade = ccCompilerName(argv0);
  if (masquerade) return { name: masquerade, compiler: masquerade, args };
  const explicit = ccCompilerName(args[0]);
  if (explicit) return { name: explicit, compiler: args[0]!, args: args.slice(1) };
  return null;
}
