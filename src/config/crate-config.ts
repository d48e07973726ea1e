// The per-crate kache.toml (extra_inputs) and the files its globs match, hashed for the crate's key.
import { readFileSync, statSync } from "node:fs";
import { isAbsolute, join, posix, relative, resolve, sep } from "node:path";
import { hashFile } from "../util/hash";
import type { ConfigIssue } from "./load";
import { findKeyLine, findSyntaxErrorLine } from "./toml-location";

export const CRATE_CONFIG_NAME = "kache.toml";

export interface ExtraInput {
  /** Crate-relative with forward slashes; starts with "../" when the file is outside the crate. */
  path: string;
  absolute: string;
  hash: string;
}

function issue(file: string, text: string, key: string, message: string, hint: string): ConfigIssue {
  return { file, line: key ? findKeyLine(text, key) : null, key, message, hint };
}

export function readCrateConfig(crateDir: string): { extraInputs: string[]; issues: ConfigIssue[] } {
  const file = join(crateDir, CRATE_CONFIG_NAME);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    // Most crates have no kache.toml; that is the common, silent case.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { extraInputs: [], issues: [] };
    return {
      extraInputs: [],
      issues: [
        issue(file, "", "", `cannot read: ${(error as Error).message}`, "check the file's permissions"),
      ],
    };
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = Bun.TOML.parse(text) as Record<string, unknown>;
  } catch (error) {
    const message = (error as Error).message;
    const shown = `invalid TOML: ${message.replace(/^TOML Parse error:\s*/, "")}`;
    const syntax = {
      ...issue(file, text, "", shown, "fix the syntax"),
      line: findSyntaxErrorLine(text, message),
    };
    return { extraInputs: [], issues: [syntax] };
  }
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(parsed)) {
    if (key !== "extra_inputs")
      issues.push(issue(file, text, key, "unknown key", "kache.toml only takes extra_inputs"));
  }
  const value = parsed.extra_inputs;
  if (value === undefined) return { extraInputs: [], issues };
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    const hint = 'write it as extra_inputs = [".sqlx/**/*.json"]';
    issues.push(issue(file, text, "extra_inputs", "expected an array of strings", hint));
    return { extraInputs: [], issues };
  }
  return { extraInputs: value, issues };
}

function hasGlobSyntax(pattern: string): boolean {
  return /[*?[{]/.test(pattern);
}

function reachesOutside(pattern: string): boolean {
  return isAbsolute(pattern) || posix.normalize(pattern.replaceAll("\\", "/")).split("/")[0] === "..";
}

/** A bare directory means everything under it; a bare file or a glob is used as written. */
function globFor(crateDir: string, pattern: string): string {
  if (hasGlobSyntax(pattern)) return pattern;
  const stat = statSync(resolve(crateDir, pattern), { throwIfNoEntry: false });
  return stat?.isDirectory() ? `${pattern.replace(/\/+$/, "")}/**` : pattern;
}

function toCrateRelative(crateDir: string, absolute: string): string {
  return relative(crateDir, absolute).split(sep).join("/");
}

export function collectExtraInputs(
  crateDir: string,
  patterns: string[],
): { files: ExtraInput[]; warnings: string[] } {
  const warnings: string[] = [];
  const found = new Map<string, string>();
  for (const pattern of patterns) {
    if (reachesOutside(pattern))
      warnings.push(`pattern ${pattern} reaches outside the crate; the key is no longer portable`);
    const glob = new Bun.Glob(globFor(crateDir, pattern));
    for (const match of glob.scanSync({ cwd: crateDir, dot: true, onlyFiles: true })) {
      const absolute = resolve(crateDir, match);
      found.set(toCrateRelative(crateDir, absolute), absolute);
    }
  }
  const paths = [...found.keys()].sort();
  const files = paths.map((path) => ({ path, absolute: found.get(path)!, hash: hashFile(found.get(path)!) }));
  return { files, warnings };
}
