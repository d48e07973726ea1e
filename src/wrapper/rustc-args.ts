// The rustc argument model: one table of the flags cargo passes, parsed into what the key needs.
import { readFileSync } from "node:fs";
import type { PassthroughReason } from "./outcomes";

export interface ExternArg {
  name: string;
  path: string | null;
}

export interface RustcArgs {
  /** Arguments to run the compiler with: argfiles expanded, `-C incremental` removed. */
  compileArgs: string[];
  input: string | null;
  crateName: string | null;
  crateTypes: string[];
  edition: string | null;
  emit: string[];
  outDir: string | null;
  target: string | null;
  /** `-C key[=value]` in the order given, without incremental. */
  codegen: [string, string][];
  cfgs: string[];
  externs: ExternArg[];
  searchPaths: string[];
  nativeLibs: string[];
  remaps: string[];
  /** Every other flag that can change the output or the diagnostics, in order. */
  otherFlags: string[];
  isTest: boolean;
  /** The `-C incremental=<dir>` cargo asked for (removed from compileArgs), or null. */
  incrementalDir: string | null;
  passthrough: PassthroughReason | null;
  /** The flag that made it pass through, for the event log. */
  passthroughDetail?: string;
}

type Handler = (args: RustcArgs, value: string) => void;

interface FlagSpec {
  takesValue: boolean;
  handle: Handler;
}

const keep: Handler = () => {};
const other =
  (flag: string): Handler =>
  (args, value) => {
    args.otherFlags.push(value === "" ? flag : `${flag}=${value}`);
  };
const refuse =
  (reason: PassthroughReason): Handler =>
  (args, value) => {
    args.passthrough ??= reason;
    args.passthroughDetail ??= value;
  };

/** Emit kinds the store models; anything else (asm, llvm-ir, mir, obj...) passes through. */
export const CACHEABLE_EMITS = new Set(["dep-info", "metadata", "link"]);

const FLAGS: Record<string, FlagSpec> = {
  "--crate-name": {
    takesValue: true,
    handle: (a, v) => {
      a.crateName = v;
    },
  },
  "--edition": {
    takesValue: true,
    handle: (a, v) => {
      a.edition = v;
    },
  },
  "--crate-type": {
    takesValue: true,
    handle: (a, v) => {
      a.crateTypes.push(...v.split(","));
    },
  },
  "--emit": { takesValue: true, handle: handleEmit },
  "--out-dir": {
    takesValue: true,
    handle: (a, v) => {
      a.outDir = v;
    },
  },
  "--target": {
    takesValue: true,
    handle: (a, v) => {
      a.target = v;
    },
  },
  "-C": { takesValue: true, handle: handleCodegen },
  "--codegen": { takesValue: true, handle: handleCodegen },
  "--cfg": {
    takesValue: true,
    handle: (a, v) => {
      a.cfgs.push(v);
    },
  },
  "--check-cfg": { takesValue: true, handle: other("--check-cfg") },
  "-L": {
    takesValue: true,
    handle: (a, v) => {
      a.searchPaths.push(v);
    },
  },
  "-l": {
    takesValue: true,
    handle: (a, v) => {
      a.nativeLibs.push(v);
    },
  },
  "--extern": { takesValue: true, handle: handleExtern },
  "--remap-path-prefix": {
    takesValue: true,
    handle: (a, v) => {
      a.remaps.push(v);
    },
  },
  "--error-format": { takesValue: true, handle: other("--error-format") },
  "--json": { takesValue: true, handle: other("--json") },
  "--color": { takesValue: true, handle: other("--color") },
  // The terminal's width (cargo passes it on a tty): where rendered diagnostics wrap, nothing else.
  // Keyed, every resize, terminal, IDE and CI would have entries of their own.
  "--diagnostic-width": { takesValue: true, handle: keep },
  "--cap-lints": { takesValue: true, handle: other("--cap-lints") },
  "-Z": { takesValue: true, handle: other("-Z") },
  "-A": { takesValue: true, handle: other("-A") },
  "-W": { takesValue: true, handle: other("-W") },
  "-D": { takesValue: true, handle: other("-D") },
  "-F": { takesValue: true, handle: other("-F") },
  "--allow": { takesValue: true, handle: other("-A") },
  "--warn": { takesValue: true, handle: other("-W") },
  "--deny": { takesValue: true, handle: other("-D") },
  "--forbid": { takesValue: true, handle: other("-F") },
  "--force-warn": { takesValue: true, handle: other("--force-warn") },
  "--env-set": { takesValue: true, handle: other("--env-set") },
  "--sysroot": { takesValue: true, handle: other("--sysroot") },
  "--test": {
    takesValue: false,
    handle: (a) => {
      a.isTest = true;
    },
  },
  "-g": { takesValue: false, handle: other("-g") },
  "-O": { takesValue: false, handle: other("-O") },
  "-v": { takesValue: false, handle: keep },
  "--verbose": { takesValue: false, handle: keep },
  "-o": { takesValue: true, handle: refuse("unsupported-flag") },
  "--print": { takesValue: true, handle: refuse("print") },
  "--explain": { takesValue: true, handle: refuse("no-input") },
  "-V": { takesValue: false, handle: refuse("no-input") },
  "--version": { takesValue: false, handle: refuse("no-input") },
  "-vV": { takesValue: false, handle: refuse("no-input") },
  "-h": { takesValue: false, handle: refuse("no-input") },
  "--help": { takesValue: false, handle: refuse("no-input") },
};

function handleEmit(args: RustcArgs, value: string): void {
  for (const kind of value.split(",")) {
    if (kind.includes("=") || !CACHEABLE_EMITS.has(kind)) {
      args.passthrough ??= "unsupported-emit";
      args.passthroughDetail ??= kind;
    }
    args.emit.push(kind);
  }
}

function handleCodegen(args: RustcArgs, value: string): void {
  const eq = value.indexOf("=");
  const key = eq === -1 ? value : value.slice(0, eq);
  const setting = eq === -1 ? "" : value.slice(eq + 1);
  if (key === "incremental") return;
  if (key === "profile-generate" || key === "profile-use") {
    args.passthrough ??= "profiling";
    args.passthroughDetail ??= `-C ${value}`;
  }
  args.codegen.push([key, setting]);
}

function handleExtern(args: RustcArgs, value: string): void {
  // `--extern [opts:]name[=path]`; opts like `noprelude:` or `priv:` prefix the name.
  const eq = value.indexOf("=");
  const spec = eq === -1 ? value : value.slice(0, eq);
  const name = spec.slice(spec.lastIndexOf(":") + 1);
  args.externs.push({ name, path: eq === -1 ? null : value.slice(eq + 1) });
  if (spec !== name) args.otherFlags.push(`--extern-opts=${spec}`);
}

function emptyArgs(): RustcArgs {
  return {
    compileArgs: [],
    input: null,
    crateName: null,
    crateTypes: [],
    edition: null,
    emit: [],
    outDir: null,
    target: null,
    codegen: [],
    cfgs: [],
    externs: [],
    searchPaths: [],
    nativeLibs: [],
    remaps: [],
    otherFlags: [],
    isTest: false,
    incrementalDir: null,
    passthrough: null,
  };
}

/** Expands `@path` argument files (one argument per line), as rustc does. */
export function expandArgfiles(argv: string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith("@") && arg.length > 1) {
      const text = readFileSync(arg.slice(1), "utf8");
      out.push(...text.split("\n").filter((line, i, all) => line !== "" || i < all.length - 1));
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Splits `--flag=value`, `-Cvalue` and `--flag value` forms into flag and value. */
function splitFlag(arg: string): { flag: string; inline: string | null } {
  if (arg.startsWith("--")) {
    const eq = arg.indexOf("=");
    return eq === -1 ? { flag: arg, inline: null } : { flag: arg.slice(0, eq), inline: arg.slice(eq + 1) };
  }
  const short = arg.slice(0, 2);
  if (arg.length > 2 && FLAGS[short]?.takesValue) return { flag: short, inline: arg.slice(2) };
  return { flag: arg, inline: null };
}

export function parseRustcArgs(argv: string[]): RustcArgs {
  const args = emptyArgs();
  const expanded = expandArgfiles(argv);
  for (let i = 0; i < expanded.length; i++) {
    const arg = expanded[i]!;
    if (arg === "-") {
      args.passthrough ??= "stdin-input";
      args.compileArgs.push(arg);
      continue;
    }
    if (!arg.startsWith("-")) {
      if (args.input !== null) {
        args.passthrough ??= "unsupported-flag";
        args.passthroughDetail ??= arg;
      }
      args.input = arg;
      args.compileArgs.push(arg);
      continue;
    }
    const { flag, inline } = splitFlag(arg);
    const spec = FLAGS[flag];
    if (!spec) {
      args.passthrough ??= "unsupported-flag";
      args.passthroughDetail ??= arg;
      args.compileArgs.push(arg);
      continue;
    }
    let value = "";
    const start = i;
    if (spec.takesValue) {
      value = inline ?? expanded[++i] ?? "";
    }
    if (isIncremental(flag, value)) {
      args.incrementalDir = value.slice(value.indexOf("=") + 1);
      continue;
    }
    spec.handle(args, value);
    args.compileArgs.push(...expanded.slice(start, i + 1));
  }
  if (args.input === null) args.passthrough ??= "no-input";
  return args;
}

function isIncremental(flag: string, value: string): boolean {
  return (flag === "-C" || flag === "--codegen") && value.startsWith("incremental");
}

/** The args with `-C incremental=...` removed and nothing else changed (pass-through runs). */
export function stripIncremental(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if ((arg === "-C" || arg === "--codegen") && argv[i + 1]?.startsWith("incremental")) {
      i++;
      continue;
    }
    if (/^(-C|--codegen=)incremental/.test(arg)) continue;
    out.push(arg);
  }
  return out;
}
