// What `kache config` says about a setting: which row a name means, its value as text, where it came
// from, and typed input turned into the TOML value the loader accepts (checked the loader's way).
import { homedir } from "node:os";
import { convertValue } from "../config/convert";
import { type LoadResult, nearestKey } from "../config/load";
import { defaultValue, type Env, SETTINGS, type SettingRow, type SettingValue } from "../config/settings";
import type { TomlScalar } from "../config/toml-edit";
import { KacheError } from "../util/errors";

/** The name a row goes by: its TOML key, or its variable for the env-only ones. */
export function settingName(row: SettingRow): string {
  return (row.key ?? row.env)!;
}

/** A row by TOML key (`cache.local_max_size`, or `local_max_size`) or env name (`KACHE_MAX_SIZE`). */
export function findSetting(name: string): SettingRow {
  const row =
    SETTINGS.find((candidate) => candidate.key === name || candidate.env === name) ??
    SETTINGS.find((candidate) => candidate.key === `cache.${name}` || candidate.env === name.toUpperCase());
  if (row) return row;
  const near = name.includes(".") || /^[a-z_]+$/.test(name) ? nearestKey(name) : null;
  const hint = near ? `did you mean ${near}?` : "`kache config list` shows them";
  throw new KacheError(`unknown setting \`${name}\``, hint, 2);
}

/** Secrets are not echoed to a terminal or a log. */
export function isSecret(row: SettingRow): boolean {
  return row.field === "remote.secretKey";
}

function shortestExact(value: number, units: readonly (readonly [string, number])[], plain: string): string {
  let best = plain;
  for (const [unit, size] of units) {
    const text = `${value / size}${unit}`;
    if (value % size === 0 && text.length < best.length) best = text;
  }
  return best;
}

const SIZE_UNITS = [
  ["TiB", 1024 ** 4],
  ["GiB", 1024 ** 3],
  ["MiB", 1024 ** 2],
  ["KiB", 1024],
  ["TB", 1e12],
  ["GB", 1e9],
  ["MB", 1e6],
  ["KB", 1e3],
] as const;

const DURATION_UNITS = [
  ["d", 86_400],
  ["h", 3_600],
  ["m", 60],
  ["s", 1],
] as const;

/** A value as a user would write it (`50GiB`, `10m`, `true`); "" when it is not set. */
export function formatValue(row: SettingRow, value: SettingValue): string {
  if (value === undefined) return "";
  if (row.type === "size" && typeof value === "number" && value > 0)
    return shortestExact(value, SIZE_UNITS, String(value));
  if (row.type === "duration" && typeof value === "number" && value > 0)
    return shortestExact(value, DURATION_UNITS, `${value}s`);
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}

/** `~/...` for paths under the home directory, as the loader's messages show them. */
export function shownPath(path: string): string {
  const home = homedir();
  return path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

/** `env KACHE_MAX_SIZE (wins over 8GiB in the file)`, `file ~/.config/kache/config.toml`, `default`. */
export function describeSource(loaded: LoadResult, row: SettingRow): string {
  const source = loaded.sources.get(row) ?? { kind: "default" };
  if (source.kind === "file") return `file ${shownPath(source.file)}`;
  if (source.kind === "default") return "default";
  const shadowed = row.key ? loaded.fileValues.get(row.key) : undefined;
  if (shadowed === undefined) return `env ${source.variable}`;
  const written = typeof shadowed === "string" ? shadowed : JSON.stringify(shadowed);
  return `env ${source.variable} (wins over ${isSecret(row) ? "the value" : written} in the file)`;
}

const FORMS: Record<SettingRow["type"], string> = {
  string: "text",
  size: "a size, e.g. 50GiB, 10GB or 512MiB",
  bool: "true or false",
  int: "a whole number",
  duration: "seconds, or a duration such as 30s, 10m, 24h, 7d",
  "string-list": 'a list: several values, or one TOML array such as ["~/.cargo/registry/**"]',
  enum: "one of",
};

/** What a valid value looks like, for the editor and for errors. */
export function expectedForm(row: SettingRow): string {
  if (row.type === "enum") return `one of ${row.values?.join(", ")}`;
  if (row.type === "int" && row.min !== undefined && row.max !== undefined)
    return `a whole number from ${row.min} to ${row.max}`;
  return FORMS[row.type];
}

function invalid(row: SettingRow, error: unknown): KacheError {
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof KacheError && error.hint ? error.hint : `use ${expectedForm(row)}`;
  return new KacheError(`${settingName(row)}: ${message}`, hint, 2);
}

function parseList(row: SettingRow, inputs: string[]): string[] {
  if (inputs.length !== 1 || !inputs[0]!.trim().startsWith("[")) return inputs;
  let parsed: unknown;
  try {
    parsed = (Bun.TOML.parse(`value = ${inputs[0]}`) as { value: unknown }).value;
  } catch {
    throw invalid(row, new KacheError(`\`${inputs[0]}\` is not a TOML array of strings`));
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string"))
    throw invalid(row, new KacheError(`\`${inputs[0]}\` is not an array of strings`));
  return parsed;
}

/** The TOML value one typed input stands for; the loader's own parsing decides what is valid. */
function tomlFor(row: SettingRow, input: string, env: Env): TomlScalar {
  let typed: SettingValue;
  try {
    // What a user types is read like an environment value: `yes`, `10m` and `16` all work.
    typed = convertValue(row, input, "env");
  } catch (error) {
    throw invalid(row, error);
  }
  if (row.type === "string" && input === "" && defaultValue(row, env) !== "")
    throw new KacheError(
      `${settingName(row)}: an empty value`,
      `to use the default: kache config unset ${row.key}`,
      2,
    );
  if (row.type === "string") return input;
  if (row.type === "size") return input.trim();
  if (row.type === "duration") return /^\s*\d+\s*$/.test(input) ? Number(input) : input.trim();
  return typed as TomlScalar;
}

/** Typed input (one value, or several for a list) as the TOML value to write; throws exit 2 when invalid. */
export function parseInput(row: SettingRow, inputs: string[], env: Env = process.env): TomlScalar {
  if (!row.key) {
    throw new KacheError(
      `${row.env} is read from the environment only`,
      `set it there, e.g. export ${row.env}=...`,
      2,
    );
  }
  let value: TomlScalar;
  if (row.type === "string-list") value = parseList(row, inputs);
  else if (inputs.length !== 1)
    throw new KacheError(`${row.key} takes one value, got ${inputs.length}`, `use ${expectedForm(row)}`, 2);
  else value = tomlFor(row, inputs[0]!, env);
  // The file must load back: the same check the loader makes on every call.
  try {
    convertValue(row, value, "file");
  } catch (error) {
    throw invalid(row, error);
  }
  return value;
}

/** The value a row has after loading: settings fields are flat, except `remote.*`. */
export function loadedValue(loaded: LoadResult, row: SettingRow): SettingValue {
  const field = row.field;
  if (field.startsWith("remote."))
    return (loaded.settings.remote as unknown as Record<string, SettingValue>)[field.slice(7)];
  return (loaded.settings as unknown as Record<string, SettingValue>)[field];
}

/** When the row's variable is set, what is written to the file does not apply; say so. */
export function envWinsNote(row: SettingRow): string | null {
  const value = row.env ? process.env[row.env] : undefined;
  if (!row.env || !value) return null;
  const shown = isSecret(row) ? "(hidden)" : value;
  return `${row.env}=${shown} is set in the environment and wins over the file`;
}
