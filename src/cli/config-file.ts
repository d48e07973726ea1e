// Writes one setting into the config file `kache config path` names: format-preserving, atomic,
// and through a symlink (a dotfiles checkout) rather than over it.
import { mkdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { type ConfigFileTarget, configFileTarget } from "../config/load";
import type { Env } from "../config/settings";
import { parseToml, removeTomlValue, setTomlValue, type TomlScalar, tomlValue } from "../config/toml-edit";
import { atomicWrite } from "../util/atomic-write";

/** The file in effect, or the one `set` creates (SPEC §5 order), seen from the current directory. */
export function currentTarget(env: Env = process.env, cwd = process.cwd()): ConfigFileTarget {
  return configFileTarget(cwd, cwd, env);
}

interface FileState {
  path: string;
  text: string;
  mode: number;
}

function readTarget(target: ConfigFileTarget): FileState {
  if (!target.exists) return { path: target.path, text: "", mode: 0o644 };
  const path = realpathSync(target.path);
  return { path, text: readFileSync(path, "utf8"), mode: statSync(path).mode & 0o777 };
}

function save(file: FileState, text: string): void {
  mkdirSync(dirname(file.path), { recursive: true });
  atomicWrite(file.path, text, { mode: file.mode, fsync: true });
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A key whose table has no header yet gets one at the end, so `cache.remote.bucket` reads as a
 * `[cache.remote]` section rather than an inline table, and `[cache]` keys do not become dotted
 * keys above a lone `[cache.remote]`. A header the file already has (or cannot take) is not added.
 */
function withTable(text: string, path: string, key: string[]): string {
  const table = key.slice(0, -1);
  if (table.length === 0) return text;
  const existing = tomlValue(parseToml(text, path), table);
  const onlySubtables = isTable(existing) && Object.values(existing).every(isTable);
  if (existing !== undefined && !onlySubtables) return text;
  const separator = text === "" ? "" : text.endsWith("\n") ? "\n" : "\n\n";
  const candidate = `${text}${separator}[${table.join(".")}]\n`;
  try {
    Bun.TOML.parse(candidate);
    return candidate;
  } catch {
    return text;
  }
}

function isBlankOrComment(line: string): boolean {
  const trimmed = line.trim();
  return trimmed === "" || trimmed.startsWith("#");
}

/**
 * The editor appends a new key after everything up to the next table, so it lands below the
 * comment that heads that table. Moved up past blank and comment lines, it joins its table's
 * keys instead; kept only when the file still means the same.
 */
function tidyInsertion(before: string, after: string): string {
  const old = before.split("\n");
  const lines = after.split("\n");
  if (lines.length !== old.length + 1) return after;
  let at = lines.findIndex((line, index) => line !== old[index]);
  if (at < 0 || lines.slice(at + 1).join("\n") !== old.slice(at).join("\n")) return after;
  const inserted = lines[at]!;
  while (at > 0 && isBlankOrComment(lines[at - 1]!)) at--;
  const moved = [...old.slice(0, at), inserted, ...old.slice(at)].join("\n");
  return Bun.deepEquals(Bun.TOML.parse(moved), Bun.TOML.parse(after)) ? moved : after;
}

/** Sets `key` (dotted) to `value` in the target file, creating the file and its dir; returns the path written. */
export function writeSetting(target: ConfigFileTarget, key: string, value: TomlScalar): string {
  const file = readTarget(target);
  const path = key.split(".");
  const start = withTable(file.text, file.path, path);
  const next = tidyInsertion(start, setTomlValue(start, file.path, path, value));
  if (next !== file.text) save(file, next);
  return file.path;
}

/** Removes `key` from the target file; false when the file does not set it. */
export function removeSetting(target: ConfigFileTarget, key: string): boolean {
  if (!target.exists) return false;
  const file = readTarget(target);
  const next = removeTomlValue(file.text, file.path, key.split("."));
  if (next === file.text) return false;
  save(file, next);
  return true;
}

/** The value the file itself holds for `key` (whatever the environment says), or undefined. */
export function fileValue(target: ConfigFileTarget, key: string): unknown {
  if (!target.exists) return undefined;
  const file = readTarget(target);
  return tomlValue(parseToml(file.text, file.path), key.split("."));
}
