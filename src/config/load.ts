// Loads settings (env > config file > default); runs in every wrapper process, so it stays cheap.
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describeError, KacheError } from "../util/errors";
import { convertValue } from "./convert";
import { expandPath } from "./expand";
import {
  defaultValue,
  type Env,
  homeDir,
  SETTINGS,
  type SettingRow,
  type Settings,
  type SettingValue,
  setField,
} from "./settings";
import { findKeyLine, findSyntaxErrorLine } from "./toml-location";

export interface ConfigIssue {
  file: string | null;
  line: number | null;
  /** Dotted TOML key, env var name, or "" for a file-wide problem. */
  key: string;
  message: string;
  hint: string;
}

export interface LoadOptions {
  cwd?: string;
  /** Where the search for `.kache.toml` starts (default: `cwd`); see config/project-dir.ts. */
  searchFrom?: string;
  env?: Env;
}

/** Where a setting's value came from: `kache config list` shows it. */
export type SettingSource =
  | { kind: "default" }
  | { kind: "env"; variable: string }
  | { kind: "file"; file: string };

export interface LoadResult {
  settings: Settings;
  /** The config file that was read, or null when none applies. */
  file: string | null;
  errors: ConfigIssue[];
  /** Per row of SETTINGS, the layer its value came from. */
  sources: Map<SettingRow, SettingSource>;
  /** The file's known keys as written (before conversion), also those the environment overrides. */
  fileValues: ReadonlyMap<string, unknown>;
}

/** The config file that applies (SPEC §5), and whether it exists; `kache config set` creates it. */
export interface ConfigFileTarget {
  path: string;
  exists: boolean;
  /** Named by KACHE_CONFIG (a missing one is an error, not a reason to look elsewhere). */
  fromEnv: boolean;
}

interface ConfigFile {
  path: string;
  text: string;
  values: Map<string, unknown>;
}

const FILE_KEYS = new Set(SETTINGS.flatMap((row) => (row.key ? [row.key] : [])));
const FILE_TABLES = new Set(
  [...FILE_KEYS].flatMap((key) =>
    key
      .split(".")
      .slice(0, -1)
      .map((_, i, parts) => parts.slice(0, i + 1).join(".")),
  ),
);

export function loadSettings(opts: LoadOptions = {}): LoadResult {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const errors: ConfigIssue[] = [];
  const path = locateConfigFile(cwd, opts.searchFrom ?? cwd, env, errors);
  const file = path === null ? null : readConfigFile(path, errors);
  // A relative path in the environment means the same place for every unit of the build.
  const envBase = resolve(cwd, opts.searchFrom ?? cwd);
  const settings = { remote: {}, configDir: envBase } as Settings;
  const sources = new Map<SettingRow, SettingSource>();
  for (const row of SETTINGS) {
    const [value, source] = resolveRow(row, file, env, envBase, errors);
    setField(settings, row.field, value);
    sources.set(row, source);
  }
  return { settings, file: file?.path ?? null, errors, sources, fileValues: file?.values ?? NO_VALUES };
}

/** One line: `~/proj/.kache.toml:3: cache.local_max_size: invalid size "lots" (use ...)`. */
export function formatIssue(issue: ConfigIssue): string {
  const home = homedir();
  const shown = issue.file?.startsWith(`${home}/`) ? `~${issue.file.slice(home.length)}` : issue.file;
  const where = shown ? `${shown}${issue.line ? `:${issue.line}` : ""}: ` : "";
  const key = issue.key ? `${issue.key}: ` : "";
  return `${where}${key}${issue.message}${issue.hint ? ` (${issue.hint})` : ""}`;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** KACHE_CONFIG, else the nearest `.kache.toml` walking up, else `$XDG_CONFIG_HOME/kache/config.toml`. */
export function configFileTarget(cwd: string, searchFrom: string, env: Env): ConfigFileTarget {
  if (env.KACHE_CONFIG) {
    const path = resolve(cwd, searchFrom, expandPath(env.KACHE_CONFIG, env).value);
    return { path, exists: isFile(path), fromEnv: true };
  }
  for (let dir = resolve(cwd, searchFrom); ; dir = dirname(dir)) {
    const candidate = join(dir, ".kache.toml");
    if (isFile(candidate)) return { path: candidate, exists: true, fromEnv: false };
    if (dirname(dir) === dir) break;
  }
  const configHome = env.XDG_CONFIG_HOME?.startsWith("/")
    ? env.XDG_CONFIG_HOME
    : join(homeDir(env), ".config");
  const global = join(configHome, "kache", "config.toml");
  return { path: global, exists: isFile(global), fromEnv: false };
}

function locateConfigFile(cwd: string, searchFrom: string, env: Env, errors: ConfigIssue[]): string | null {
  const target = configFileTarget(cwd, searchFrom, env);
  if (target.exists) return target.path;
  if (target.fromEnv) {
    const hint = "create the file or unset KACHE_CONFIG";
    errors.push({
      file: target.path,
      line: null,
      key: "KACHE_CONFIG",
      message: "config file not found",
      hint,
    });
  }
  return null;
}

function readConfigFile(path: string, errors: ConfigIssue[]): ConfigFile {
  const file: ConfigFile = { path, text: "", values: new Map() };
  try {
    file.text = readFileSync(path, "utf8");
  } catch (error) {
    errors.push({
      file: path,
      line: null,
      key: "",
      message: `cannot read: ${describeError(error)}`,
      hint: "check the file's permissions",
    });
    return file;
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = Bun.TOML.parse(file.text) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const line = findSyntaxErrorLine(file.text, message);
    const shown = `invalid TOML: ${message.replace(/^TOML Parse error:\s*/, "")}`;
    errors.push({
      file: path,
      line,
      key: "",
      message: shown,
      hint: "fix the syntax; kache ignores this file until then",
    });
    return file;
  }
  collectValues(parsed, "", file, errors);
  return file;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Records known keys in `file.values` and reports everything else with its line. */
function collectValues(
  table: Record<string, unknown>,
  prefix: string,
  file: ConfigFile,
  errors: ConfigIssue[],
): void {
  for (const [name, value] of Object.entries(table)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (FILE_KEYS.has(key)) file.values.set(key, value);
    else if (FILE_TABLES.has(key) && isTable(value)) collectValues(value, key, file, errors);
    else if (FILE_TABLES.has(key))
      errors.push(fileIssue(file, key, new KacheError("expected a table", `write it as [${key}]`)));
    else errors.push(fileIssue(file, key, new KacheError("unknown key", suggestKey(key))));
  }
}

function toIssue(error: unknown, file: string | null, line: number | null, key: string): ConfigIssue {
  const hint = error instanceof KacheError ? (error.hint ?? "") : "";
  const message = error instanceof Error ? error.message : String(error);
  return { file, line, key, message, hint };
}

function fileIssue(file: ConfigFile, key: string, error: unknown): ConfigIssue {
  return toIssue(error, file.path, findKeyLine(file.text, key), key);
}

const DEFAULT_SOURCE: SettingSource = { kind: "default" };
const NO_VALUES: ReadonlyMap<string, unknown> = new Map();

/** Env beats file beats default; a bad value is reported and the layer below it is kept. */
function resolveRow(
  row: SettingRow,
  file: ConfigFile | null,
  env: Env,
  cwd: string,
  errors: ConfigIssue[],
): [SettingValue, SettingSource] {
  let value = defaultValue(row, env);
  let source: SettingSource = DEFAULT_SOURCE;
  if (row.key && file?.values.has(row.key)) {
    try {
      const raw = convertValue(row, file.values.get(row.key), "file");
      value = finishValue(row, raw, env, dirname(file.path));
      source = { kind: "file", file: file.path };
    } catch (error) {
      errors.push(fileIssue(file, row.key, error));
    }
  }
  const fromEnv = row.env ? env[row.env] : undefined;
  if (row.env && fromEnv) {
    try {
      value = finishValue(row, convertValue(row, fromEnv, "env"), env, cwd);
      source = { kind: "env", variable: row.env };
    } catch (error) {
      errors.push(toIssue(error, null, null, row.env));
    }
  }
  return [value, source];
}

/** Path settings get `~`/`$VAR` expanded; a relative cache dir is taken from where it was written. */
function finishValue(row: SettingRow, value: SettingValue, env: Env, baseDir: string): SettingValue {
  if (row.field === "cacheDir" && typeof value === "string")
    return resolve(baseDir, expandOrThrow(value, env));
  if (row.field === "exclude" && Array.isArray(value))
    return value.map((pattern) => expandOrThrow(pattern, env));
  // A bare name is looked up on PATH when a call runs; a path is taken from where it was written.
  if (row.field === "fallback" && typeof value === "string" && value !== "") {
    const expanded = expandOrThrow(value, env);
    return expanded.includes("/") ? resolve(baseDir, expanded) : expanded;
  }
  return value;
}

function expandOrThrow(text: string, env: Env): string {
  const { value, missing } = expandPath(text, env);
  if (missing.length > 0) {
    throw new KacheError(
      `"${text}" uses $${missing[0]}, which is not set`,
      `set ${missing[0]} or write the path out`,
    );
  }
  return value;
}

/** The known key whose last part is close to the unknown one's, or null. */
export function nearestKey(key: string): string | null {
  const last = key.slice(key.lastIndexOf(".") + 1);
  let best: { key: string; distance: number } | null = null;
  for (const known of FILE_KEYS) {
    const distance = editDistance(last, known.slice(known.lastIndexOf(".") + 1));
    if (!best || distance < best.distance) best = { key: known, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(last.length / 3)) ? best.key : null;
}

/** What to do about an unknown key in a config file. */
export function suggestKey(key: string): string {
  const near = nearestKey(key);
  return near ? `did you mean ${near}?` : "remove it; `kache config list` shows the known keys";
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
