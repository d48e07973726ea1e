// Turns a raw env string or TOML value into a setting's typed value, or throws a KacheError with a hint.
import { parseDuration } from "../util/duration";
import { KacheError } from "../util/errors";
import { parseSize } from "../util/size";
import type { SettingRow, SettingType, SettingValue } from "./settings";

export type Source = "env" | "file";

const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off"]);

const EXPECTED: Record<SettingType, string> = {
  string: "a string",
  size: 'a size such as "50GiB"',
  bool: "true or false",
  int: "an integer",
  duration: 'seconds or a duration such as "10m"',
  "string-list": "an array of strings",
  enum: "one of",
};

function wrongType(row: SettingRow, raw: unknown): KacheError {
  const shown = typeof raw === "string" ? `"${raw}"` : Array.isArray(raw) ? "an array" : typeof raw;
  const expected = row.type === "enum" ? `one of ${row.values?.join(", ")}` : EXPECTED[row.type];
  return new KacheError(`expected ${expected}, got ${shown}`, `set it to ${expected}`);
}

function checkRange(row: SettingRow, value: number): number {
  const low = row.min ?? (row.type === "int" ? Number.NEGATIVE_INFINITY : 0);
  const high = row.max ?? Number.POSITIVE_INFINITY;
  if (value < low || value > high) {
    const range = row.max === undefined ? `at least ${low}` : `between ${low} and ${high}`;
    throw new KacheError(`${value} is out of range`, `use a number ${range}`);
  }
  return value;
}

const INTEGER = /^\s*-?\d+\s*$/;

/** Env values are always strings; in a TOML file a quoted number is a type mistake. */
function toInt(row: SettingRow, raw: unknown, source: Source): number {
  if (typeof raw === "number" && Number.isInteger(raw)) return checkRange(row, raw);
  if (typeof raw !== "string" || source === "file") throw wrongType(row, raw);
  if (!INTEGER.test(raw)) throw new KacheError(`invalid integer "${raw}"`, "use a whole number, e.g. 16");
  return checkRange(row, Number(raw));
}

function toDurationSecs(row: SettingRow, raw: unknown, source: Source): number {
  if (typeof raw === "string" && !INTEGER.test(raw)) return checkRange(row, parseDuration(raw) / 1000);
  return toInt(row, raw, source);
}

function toSize(row: SettingRow, raw: unknown): number {
  if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0) return raw;
  if (typeof raw === "string") return parseSize(raw);
  throw wrongType(row, raw);
}

function toBool(row: SettingRow, raw: unknown, source: Source): boolean {
  if (typeof raw === "boolean") return raw;
  // Only env values get the word forms; a TOML file has real booleans.
  if (typeof raw === "string" && source === "env") {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    throw new KacheError(`invalid boolean "${raw}"`, "use 1/0, true/false, yes/no or on/off");
  }
  throw wrongType(row, raw);
}

function toEnum(row: SettingRow, raw: unknown): string {
  const values = row.values ?? [];
  if (typeof raw !== "string") throw wrongType(row, raw);
  const value = raw.trim().toLowerCase();
  if (!values.includes(value))
    throw new KacheError(`invalid value "${raw}"`, `use one of ${values.join(", ")}`);
  return value;
}

function checkItems(row: SettingRow, items: string[]): string[] {
  const bad = row.item ? items.find((item) => !row.item!.pattern.test(item)) : undefined;
  if (bad !== undefined) throw new KacheError(`invalid ${row.item!.what} "${bad}"`, row.item!.hint);
  return items;
}

/** A TOML array, or in the environment a comma-separated list. */
function toStringList(row: SettingRow, raw: unknown, source: Source): string[] {
  if (Array.isArray(raw) && raw.every((item) => typeof item === "string")) return checkItems(row, [...raw]);
  if (typeof raw === "string" && source === "env") {
    const items = raw
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
    return checkItems(row, items);
  }
  throw wrongType(row, raw);
}

/** `raw` is a string from the environment or any value from a parsed TOML file. */
export function convertValue(row: SettingRow, raw: unknown, source: Source): SettingValue {
  switch (row.type) {
    case "string":
      if (typeof raw !== "string") throw wrongType(row, raw);
      return raw;
    case "size":
      return toSize(row, raw);
    case "bool":
      return toBool(row, raw, source);
    case "int":
      return toInt(row, raw, source);
    case "duration":
      return toDurationSecs(row, raw, source);
    case "enum":
      return toEnum(row, raw);
    case "string-list":
      return toStringList(row, raw, source);
  }
}
