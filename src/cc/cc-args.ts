// Parses a gcc/clang command line: is it one cacheable `-c` compile, and what goes into its key.
import { basename, dirname, extname } from "node:path";
import type { PassthroughReason } from "../wrapper/outcomes";
import { allowedFlag, PATH_FLAGS, PREFIX_MAP, passthroughFlag, type ValueFlag, valueFlag } from "./cc-flags";

export type CcLanguage = "c" | "c++";

export interface DepFileRequest {
  /** `-MD` (system headers too) or `-MMD`. */
  mode: "-MD" | "-MMD";
  /** `-MF`, or null for gcc's default (the object's name with `.d`). */
  file: string | null;
  /** `-MT`/`-MQ`/`-MP` as given: they shape the file's text. */
  shaping: string[];
}

export interface CcArgs {
  /** True when the call has no C/C++/assembly source at all (a link, `--version`, a probe). */
  noSource: boolean;
  /** Why the call is not cached, or null when it is. */
  passthrough: PassthroughReason | null;
  /** The flag behind the reason, when one flag decided it. */
  passthroughDetail?: string;
  source: string | null;
  language: CcLanguage | null;
  /** `-o`, or null for the default `<stem>.o` in the cwd. */
  output: string | null;
  depFile: DepFileRequest | null;
  /** Flags for the key and the `-E` run, in order, each as its argument(s); paths marked. */
  flags: { args: string[]; path: boolean }[];
  /** `--target=`/`-target`, when given. */
  target: string | null;
  /** The user passed their own -f*-prefix-map: kache adds none. */
  userPrefixMap: boolean;
  /** `-I`, `-iquote`, `-isystem` and `-idirafter` dirs as given, in order. */
  includeDirs: string[];
  compileOnly: boolean;
}

const INCLUDE_DIR_FLAGS: ReadonlySet<string> = new Set(["-I", "-iquote", "-isystem", "-idirafter"]);

const C_EXTENSIONS = new Set([".c"]);
const CXX_EXTENSIONS = new Set([".cc", ".cpp", ".cxx", ".C", ".c++", ".cp", ".CPP"]);
const ASM_EXTENSIONS = new Set([".s", ".S", ".sx"]);
const HEADER_EXTENSIONS = new Set([".h", ".hh", ".hpp", ".hxx", ".gch", ".pch"]);
const OTHER_SOURCES = new Set([".m", ".mm", ".M", ".f", ".f90", ".F", ".F90", ".go", ".d", ".ads", ".adb"]);

function isCxxDriver(compiler: string): boolean {
  return /(?:c\+\+|g\+\+|clang\+\+)(?:-[\d.]+)?$/.test(basename(compiler));
}

/** The language a `-x` value names for what follows it. */
function xLanguage(value: string): CcLanguage | "none" | PassthroughReason {
  if (value === "c") return "c";
  if (value === "c++") return "c++";
  if (value === "none") return "none";
  if (value.endsWith("-header")) return "precompiled-header";
  if (value.startsWith("assembler")) return "assembly-source";
  return "unsupported-language";
}

function sourceLanguage(file: string, forced: CcLanguage | null, cxxDriver: boolean) {
  if (forced) return forced;
  const ext = extname(file);
  if (C_EXTENSIONS.has(ext)) return cxxDriver ? "c++" : "c";
  if (CXX_EXTENSIONS.has(ext)) return "c++";
  if (ASM_EXTENSIONS.has(ext)) return "assembly-source";
  if (HEADER_EXTENSIONS.has(ext)) return "precompiled-header";
  if (OTHER_SOURCES.has(ext)) return "unsupported-language";
  return null; // an object, library or linker script: a link input
}

class Parse {
  readonly result: CcArgs = {
    noSource: true,
    passthrough: null,
    source: null,
    language: null,
    output: null,
    depFile: null,
    flags: [],
    target: null,
    userPrefixMap: false,
    includeDirs: [],
    compileOnly: false,
  };
  private forced: CcLanguage | null = null;
  private sources = 0;
  private depMode: "-MD" | "-MMD" | null = null;
  private depFileName: string | null = null;
  private shaping: string[] = [];

  constructor(private readonly cxxDriver: boolean) {}

  refuse(reason: PassthroughReason, detail?: string): void {
    if (this.result.passthrough) return;
    this.result.passthrough = reason;
    if (detail !== undefined) this.result.passthroughDetail = detail;
  }

  value(flag: ValueFlag, value: string, spelled: string[]): void {
    const r = this.result;
    if (flag === "-o") r.output = value;
    else if (flag === "-MF") this.depFileName = value;
    else if (flag === "-MT" || flag === "-MQ") this.shaping.push(flag, value);
    else if (flag === "-x") this.language(value);
    else {
      if (flag === "-target" || flag === "--target") r.target = value;
      if (INCLUDE_DIR_FLAGS.has(flag)) r.includeDirs.push(value);
      r.flags.push({ args: spelled, path: PATH_FLAGS.has(flag) });
    }
  }

  language(value: string): void {
    const language = xLanguage(value);
    if (language === "c" || language === "c++") this.forced = language;
    else if (language === "none") this.forced = null;
    else this.refuse(language, `-x ${value}`);
  }

  input(file: string): void {
    if (file === "-") {
      this.result.noSource = false;
      this.refuse("stdin-input");
      return;
    }
    const language = sourceLanguage(file, this.forced, this.cxxDriver);
    if (language === null) return;
    this.result.noSource = false;
    this.sources += 1;
    if (language !== "c" && language !== "c++") {
      this.refuse(language, file);
      return;
    }
    this.result.source = file;
    this.result.language = language;
  }

  flag(arg: string): void {
    const r = this.result;
    if (arg === "-c") r.compileOnly = true;
    else if (arg === "-MD" || arg === "-MMD") this.depMode = arg;
    else if (arg === "-MP") this.shaping.push(arg);
    else if (PREFIX_MAP.test(arg)) {
      r.userPrefixMap = true;
      r.flags.push({ args: [arg], path: false });
    } else if (allowedFlag(arg)) r.flags.push({ args: [arg], path: false });
    else this.refuse(passthroughFlag(arg) ?? "unsupported-flag", arg);
  }

  finish(): CcArgs {
    const r = this.result;
    if (this.depMode) r.depFile = { mode: this.depMode, file: this.depFileName, shaping: this.shaping };
    if (r.noSource) return r;
    if (this.sources > 1) {
      r.passthrough = "multiple-sources";
      delete r.passthroughDetail;
    } else if (!r.passthrough && !r.compileOnly) r.passthrough = "compile-and-link";
    else if (!r.passthrough && r.output === "-") r.passthrough = "stdout-output";
    return r;
  }
}

/** Parses the arguments of `compiler` (its name tells a C++ driver, which compiles `.c` as C++). */
export function parseCcArgs(args: string[], compiler: string): CcArgs {
  const parse = new Parse(isCxxDriver(compiler));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith("@")) {
      parse.refuse("response-file", arg);
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      parse.input(arg);
      continue;
    }
    // A pass-through flag wins over a value flag it resembles (`-M` is not `-MF`).
    const forced = passthroughFlag(arg);
    if (forced) {
      parse.refuse(forced, arg);
      if (arg === "-include-pch") i++; // its value is no source
      continue;
    }
    const valued = valueFlag(arg);
    if (!valued) {
      parse.flag(arg);
      continue;
    }
    const value = valued.joined ?? args[++i];
    if (value === undefined) {
      parse.refuse("unsupported-flag", arg);
      break;
    }
    parse.value(valued.flag, value, valued.joined === null ? [arg, value] : [arg]);
  }
  return parse.finish();
}

/** Variables whose dirs the preprocessor searches after the flags' (an empty element: the cwd). */
const INCLUDE_PATH_ENV = ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "OBJC_INCLUDE_PATH"];

/**
 * Where the preprocessor looks for headers, as the call spells it: the source's dir, the flags'
 * dirs, and those of CPATH and its kin. (The compiler's own dirs are not watched for new headers.)
 */
export function includeDirsOf(args: CcArgs, env: Record<string, string | undefined>): string[] {
  const own = args.source ? [dirname(args.source)] : [];
  const fromEnv = INCLUDE_PATH_ENV.flatMap((name) =>
    env[name] === undefined ? [] : env[name]!.split(":").map((dir) => dir || "."),
  );
  return [...own, ...args.includeDirs, ...fromEnv];
}

/** The object gcc writes without `-o`: the source's stem with `.o`, in the cwd. */
export function objectPath(args: CcArgs): string {
  if (args.output) return args.output;
  const name = basename(args.source!);
  return `${name.slice(0, name.length - extname(name).length)}.o`;
}

/** The dep file gcc writes: `-MF`, else the object's name with its last extension replaced by `.d`. */
export function depFilePath(args: CcArgs): string | null {
  if (!args.depFile) return null;
  if (args.depFile.file) return args.depFile.file;
  const object = objectPath(args);
  const ext = extname(object);
  return `${ext ? object.slice(0, -ext.length) : object}.d`;
}

const DEP_VALUE_FLAGS = new Set(["-MF", "-MT", "-MQ"]);

/** The call's arguments for the `-E` run: without `-c`, `-o` and the dep file flags. */
export function preprocessArgs(args: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-c" || arg === "-MD" || arg === "-MMD" || arg === "-MP") continue;
    if (arg === "-o" || DEP_VALUE_FLAGS.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith("-o") || DEP_VALUE_FLAGS.has(arg.slice(0, 3))) continue;
    kept.push(arg);
  }
  return kept;
}
