// Byte sizes: parse "50GiB"/"10GB"/"512MiB" and format for humans ("1.2 MB").
import { KacheError } from "./errors";

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new KacheError(`invalid size "${text}"`, "use a number with a unit, e.g. 50GiB, 10GB or 512MiB");
  }
  return Math.round(Number(match[1]) * unit);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let index = 0;
  while (value >= 1000 && index < units.length - 1) {
    value /= 1000;
    index += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[index]}`;
}

const DECIMAL_UNITS = [
  ["TB", 1000 ** 4],
  ["GB", 1000 ** 3],
  ["MB", 1000 ** 2],
  ["KB", 1000],
] as const;
const BINARY_UNITS = [
  ["TiB", 1024 ** 4],
  ["GiB", 1024 ** 3],
  ["MiB", 1024 ** 2],
  ["KiB", 1024],
] as const;

/** `bytes` in the largest unit that divides it exactly, or null. */
function exactly(bytes: number, units: typeof DECIMAL_UNITS | typeof BINARY_UNITS): string | null {
  for (const [unit, size] of units) if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  return null;
}

/** A configured limit as it was likely written (`50 GiB` for 50GiB, `10 GB` for 10GB), else formatBytes. */
export function formatLimit(bytes: number): string {
  const decimal = exactly(bytes, DECIMAL_UNITS);
  const binary = exactly(bytes, BINARY_UNITS);
  if (decimal && (!binary || decimal.length <= binary.length)) return decimal;
  return binary ?? formatBytes(bytes);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
