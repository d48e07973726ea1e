// One line per check, for `kache doctor` and `kache init --check`: ok, warn, problem (or fixed), with a hint.
import { writeOut } from "./colour";

export type CheckStatus = "ok" | "warn" | "problem" | "fixed";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it; empty when nothing needs doing. */
  hint: string;
}

/** A check a `--fix` can repair: the repair says what it did, or throws a KacheError when it cannot. */
export interface FixableCheck extends Check {
  fix?: () => Promise<string> | string;
}

export function check(name: string, status: CheckStatus, detail: string, hint = ""): FixableCheck {
  return { name, status, detail, hint };
}

const WIDTH = Math.max(...(["ok", "warn", "problem", "fixed"] as const).map((status) => status.length)) + 2;

export function formatCheck(item: Check): string {
  const hint = item.hint ? ` (${item.hint})` : "";
  // One line, whatever a library's error message held.
  return `${item.status.padEnd(WIDTH)}${item.name}: ${item.detail}${hint}`.replace(/\s*\n\s*/g, " ");
}

/** The checks as lines on stdout, or as a JSON array of {name, status, detail, hint}. */
export function printChecks(checks: Check[], json: boolean): void {
  if (json) {
    const plain = checks.map(({ name, status, detail, hint }) => ({ name, status, detail, hint }));
    writeOut(`${JSON.stringify(plain, null, 2)}\n`);
    return;
  }
  for (const item of checks) writeOut(`${formatCheck(item)}\n`);
}

export function hasProblem(checks: Check[]): boolean {
  return checks.some((item) => item.status === "problem");
}

/** `1 blob`, `2 blobs`, `1 entry`, `3 entries`. */
export function count(n: number, noun: string): string {
  if (n === 1) return `1 ${noun}`;
  return `${n} ${noun.endsWith("y") ? `${noun.slice(0, -1)}ies` : `${noun}s`}`;
}
