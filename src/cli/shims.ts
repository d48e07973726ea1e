// The shim dir of SPEC §11 masquerade mode: symlinks named cc, c++, gcc, ... pointing at kache, each
// made under a temp name and renamed in so a running build never finds one missing.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { basename, resolve } from "node:path";
import { KacheError } from "../util/errors";
import { displayPath } from "./wrapper-setup";

export const SHIM_NAMES = ["cc", "c++", "gcc", "g++", "clang", "clang++"] as const;

export type ShimAction = "created" | "unchanged" | "replaced" | "refused";

export interface ShimResult {
  name: string;
  path: string;
  action: ShimAction;
  /** For a refused one: what is there instead. */
  found?: string;
}

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** What is at `path`: this kache's link, another kache's (an older install), or something foreign. */
export function shimState(path: string, program: string): "absent" | "ours" | "other-kache" | "foreign" {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat) return "absent";
  if (!stat.isSymbolicLink()) return "foreign";
  const target = resolve(path, "..", readlinkSync(path));
  const real = realpathOrNull(target);
  if (real !== null && real === realpathOrNull(program)) return "ours";
  // A kache binary by name, there or gone (an uninstalled older kache leaves a dangling link).
  const name = basename(real ?? target);
  return /^kache/.test(name) ? "other-kache" : "foreign";
}

function describeForeign(path: string): string {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return `a symlink to ${readlinkSync(path)}`;
  return stat.isFile() ? "a regular file" : "not a symlink";
}

function linkInPlace(path: string, program: string): void {
  const temp = `${path}.kache-tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  symlinkSync(program, temp);
  try {
    renameSync(temp, path);
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
}

/** Makes `dir` (0755, parents too) and its links to `program`; a foreign file stays and is reported. */
export function installShims(dir: string, program: string): ShimResult[] {
  const created = mkdirSync(dir, { recursive: true, mode: 0o755 });
  // mkdir's mode passes through the umask; the dir kache made gets exactly 0755.
  if (created !== undefined) chmodSync(dir, 0o755);
  return SHIM_NAMES.map((name) => {
    const path = resolve(dir, name);
    const state = shimState(path, program);
    if (state === "ours") return { name, path, action: "unchanged" };
    if (state === "foreign") return { name, path, action: "refused", found: describeForeign(path) };
    linkInPlace(path, program);
    return { name, path, action: state === "absent" ? "created" : "replaced" };
  });
}

/** One line per kind of change, e.g. `created cc, c++ -> /usr/local/bin/kache`. */
export function describeShims(dir: string, results: ShimResult[], program: string): string[] {
  const names = (action: ShimAction) =>
    results.filter((result) => result.action === action).map((result) => result.name);
  const lines: string[] = [];
  const shown = displayPath(dir);
  if (names("created").length)
    lines.push(`shims: created ${names("created").join(", ")} in ${shown} -> ${program}`);
  if (names("replaced").length)
    lines.push(
      `shims: replaced ${names("replaced").join(", ")} (they pointed at another kache) -> ${program}`,
    );
  if (names("unchanged").length === results.length)
    lines.push(`shims: ${shown} already in place (unchanged)`);
  return lines;
}

export function refusalError(results: ShimResult[]): KacheError | null {
  const refused = results.filter((result) => result.action === "refused");
  if (refused.length === 0) return null;
  const what = refused.map((result) => `${displayPath(result.path)} is ${result.found}`).join("; ");
  return new KacheError(`${what}, not a kache shim: left as it is`, "move it away, then run this again");
}
