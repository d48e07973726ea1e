// Which files a rustc invocation writes into its out-dir, predicted from the args and found afterwards.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RustcArgs } from "./rustc-args";

const EXECUTABLE_CRATE_TYPES = new Set(["bin", "dylib", "cdylib", "proc-macro"]);
const DYLIB_SUFFIX = process.platform === "darwin" ? ".dylib" : ".so";

/**
 * The crate types the outputs follow. A call that names none (cargo's `harness = false` tests and
 * benches) makes a binary, as rustc does, unless the crate root asks for another type: then the
 * binary predicted here is missing after the compile, and nothing is stored.
 */
export function outputCrateTypes(args: RustcArgs): string[] {
  return args.crateTypes.length > 0 || args.isTest ? args.crateTypes : ["bin"];
}

export function producesExecutable(args: RustcArgs): boolean {
  if (!args.emit.includes("link") && args.emit.length > 0) return false;
  return args.isTest || outputCrateTypes(args).some((type) => EXECUTABLE_CRATE_TYPES.has(type));
}

/**
 * A staticlib is an archive rustc itself fills with every rlib of the transitive closure and their
 * bundled native code: no linker runs to say which files those were, so such a call is not keyed.
 */
export function bundlesClosure(args: RustcArgs): boolean {
  return (args.emit.includes("link") || args.emit.length === 0) && args.crateTypes.includes("staticlib");
}

/**
 * Under LTO rustc reads the code of every upstream rlib itself and hands the linker at most filtered
 * copies in its own temp dir (none for a crate without native code): no linker lists what the link
 * read, and a change two crates below may leave every direct dependency's rlib as it was.
 */
export function linksWithLto(args: RustcArgs): boolean {
  const lto = args.codegen.findLast(([key]) => key === "lto")?.[1];
  return lto !== undefined && !["n", "no", "off", "false"].includes(lto);
}

export function fileStem(args: RustcArgs): string {
  const extra = args.codegen.findLast(([key]) => key === "extra-filename")?.[1] ?? "";
  return `${args.crateName}${extra}`;
}

/** The outputs rustc will write, by emit kind and crate type. */
export function expectedOutputs(args: RustcArgs): string[] {
  const stem = fileStem(args);
  const names = new Set<string>();
  const emits = args.emit.length ? args.emit : ["link"];
  if (emits.includes("dep-info")) names.add(`${stem}.d`);
  if (emits.includes("metadata")) names.add(`lib${stem}.rmeta`);
  if (emits.includes("link")) {
    if (args.isTest) names.add(stem);
    for (const type of outputCrateTypes(args)) {
      if (type === "bin") names.add(stem);
      else if (type === "lib" || type === "rlib") names.add(`lib${stem}.rlib`);
      else if (type === "staticlib") names.add(`lib${stem}.a`);
      else names.add(`lib${stem}${DYLIB_SUFFIX}`);
    }
  }
  return [...names];
}

/**
 * Everything the compile left in the out-dir for this unit: the expected files plus any other
 * `<stem>.*` file written since it started (e.g. `.dwp`). A directory (`.dSYM`) cannot be stored.
 */
export function collectOutputs(
  args: RustcArgs,
  outDir: string,
  startedMs: number,
): { files: string[]; storable: boolean; why?: string } {
  const stem = fileStem(args);
  const expected = expectedOutputs(args);
  const found = new Set<string>();
  for (const name of expected) {
    try {
      if (!statSync(join(outDir, name)).isFile())
        return { files: [], storable: false, why: `${name} is not a file` };
      found.add(name);
    } catch {
      return { files: [], storable: false, why: `expected output ${name} is missing` };
    }
  }
  for (const name of readdirSync(outDir)) {
    if (found.has(name) || !(name.startsWith(`${stem}.`) || name.startsWith(`lib${stem}.`))) continue;
    if (name.includes(".kache-tmp-")) continue;
    const stat = statSync(join(outDir, name));
    // The filesystem clock may lag the wall clock by a tick; older files are leftovers.
    if (stat.mtimeMs + 50 < startedMs) continue;
    if (!stat.isFile()) return { files: [], storable: false, why: `${name} is a directory` };
    found.add(name);
  }
  return { files: [...found].sort(), storable: true };
}
