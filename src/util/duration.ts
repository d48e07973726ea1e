// Durations in settings and flags: "30m", "24h", "7d", "90s" -> milliseconds.
import { KacheError } from "./errors";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/.exec(text);
  if (!match)
    throw new KacheError(
      `invalid duration "${text}"`,
      "use a number with s, m, h, d or w, e.g. 30m, 24h, 7d",
    );
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}
