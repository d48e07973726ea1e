// What a link really read: the linker writes its input list (GNU ld, lld, mold: --dependency-file;
// ld64: -dependency_info), and those files go into the key by content, like sources in direct mode.
import { readFileSync } from "node:fs";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { splitMakeDeps } from "./dep-info";
import { fileStem } from "./output-files";
import type { RustcArgs } from "./rustc-args";

/** How the linker is told to write its input list; "none" when no form works with this linker. */
export type LinkListStyle = "gnu-cc" | "gnu" | "ld64-cc" | "ld64" | "none";

/** The flags that make rustc's linker write its input list to `file`. */
export function linkListArgs(style: LinkListStyle, file: string): string[] {
  switch (style) {
    case "gnu-cc":
      return ["-C", `link-arg=-Wl,--dependency-file=${file}`];
    case "gnu":
      return ["-C", `link-arg=--dependency-file=${file}`];
    case "ld64-cc":
      return ["-C", `link-arg=-Wl,-dependency_info,${file}`];
    case "ld64":
      return ["-C", "link-arg=-dependency_info", "-C", `link-arg=${file}`];
    case "none":
      return [];
  }
}

/** The styles worth trying for a target, most likely first. */
export function candidateStyles(target: string): LinkListStyle[] {
  return target.includes("apple") ? ["ld64-cc", "ld64"] : ["gnu-cc", "gnu"];
}

/** ld64's -dependency_info: records of one opcode byte and a NUL-terminated path; 0x10 is an input. */
export function parseDependencyInfo(data: Uint8Array): string[] {
  const inputs: string[] = [];
  let at = 0;
  while (at < data.length) {
    const opcode = data[at]!;
    const end = data.indexOf(0, at + 1);
    if (end === -1) break;
    if (opcode === 0x10) inputs.push(Buffer.from(data.subarray(at + 1, end)).toString("utf8"));
    at = end + 1;
  }
  return inputs;
}

/** A make-style dependency file: the prerequisites of its first rule. */
export function parseDependencyFile(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, " ");
  for (const line of joined.split("\n")) {
    const colon = line.search(/(?<!\\):(?: |$)/);
    if (colon !== -1) return splitMakeDeps(line.slice(colon + 1));
  }
  return [];
}

export function readLinkList(style: LinkListStyle, file: string): string[] {
  const data = readFileSync(file);
  return style.startsWith("ld64") ? parseDependencyInfo(data) : parseDependencyFile(data.toString("utf8"));
}

/** rustc's own scratch dirs (`rustcXXXXXX`) hold objects it made for this link (symbols.o). */
const RUSTC_TEMP_DIR = /(^|\/)rustc[A-Za-z0-9]{6}\//;

/**
 * The link's inputs that are not products of this very compile: the crate's own codegen objects,
 * rustc's temporary objects and the incremental cache all come from sources already in the key.
 */
export function externalLinkInputs(listed: string[], args: RustcArgs, cwd: string, outDir: string): string[] {
  const stem = fileStem(args);
  const incremental = args.incrementalDir ? resolve(cwd, args.incrementalDir) : null;
  const kept = new Set<string>();
  for (const entry of listed) {
    const path = isAbsolute(entry) ? entry : resolve(cwd, entry);
    if (RUSTC_TEMP_DIR.test(path)) continue;
    if (incremental && path.startsWith(`${incremental}/`)) continue;
    if (dirname(path) === outDir && basename(path).startsWith(`${stem}.`) && path.endsWith(".o")) continue;
    kept.add(path);
  }
  return [...kept].sort();
}
