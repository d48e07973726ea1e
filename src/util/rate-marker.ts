// A marker file whose mtime rate-limits something many processes would otherwise all do at once.
import { statSync, utimesSync, writeFileSync } from "node:fs";

/** True (and the marker is touched) when `path` is missing or older than `everyMs`. */
export function markerDue(path: string, everyMs: number): boolean {
  try {
    if (Date.now() - statSync(path).mtimeMs < everyMs) return false;
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    try {
      writeFileSync(path, "");
    } catch {
      return true;
    }
  }
  return true;
}
