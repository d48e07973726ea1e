// The dep-info pre-pass (`--emit=dep-info` into a temp dir) and the parser for rustc's `.d` files.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withJobserverFds } from "./compiler-process";

export interface DepInfo {
  /** Every source the crate reads, as rustc names it (relative to cwd or absolute). */
  sources: string[];
  /** `env!`/`option_env!` reads: name and value (null when unset at compile time). */
  envDeps: [string, string | null][];
}

/** rustc writes env-dep names and values with `\\`, `\n` and `\r` escaped (escape_dep_env). */
export function unescapeEnvDep(text: string): string {
  return text.replace(/\\([\\nr])/g, (_, char: string) => (char === "n" ? "\n" : char === "r" ? "\r" : "\\"));
}

function unescapePath(text: string): string {
  return text.replace(/\\ /g, " ").replace(/\\#/g, "#").replace(/\$\$/g, "$");
}

/** Splits a make rule's right-hand side on unescaped spaces. */
export function splitMakeDeps(text: string): string[] {
  return text
    .split(/(?<!\\) +/)
    .filter((part) => part !== "")
    .map(unescapePath);
}

export function parseDepInfo(text: string): DepInfo {
  const sources = new Set<string>();
  const envDeps = new Map<string, string | null>();
  let firstRule = true;
  for (const line of text.split("\n")) {
    if (line.startsWith("# env-dep:")) {
      const body = line.slice("# env-dep:".length);
      const eq = body.indexOf("=");
      const name = unescapeEnvDep(eq === -1 ? body : body.slice(0, eq));
      envDeps.set(name, eq === -1 ? null : unescapeEnvDep(body.slice(eq + 1)));
      continue;
    }
    if (line.startsWith("#") || line.trim() === "") continue;
    const colon = line.search(/(?<!\\):(?: |$)/);
    if (colon === -1) continue;
    // The first rule lists every dependency of the output; later rules repeat each one as a target.
    if (firstRule) {
      for (const dep of splitMakeDeps(line.slice(colon + 1))) sources.add(dep);
      firstRule = false;
    }
  }
  return { sources: [...sources], envDeps: [...envDeps.entries()].sort((a, b) => a[0].localeCompare(b[0])) };
}

/** Replaces `--emit` and `--out-dir` so rustc writes only dep-info, into `tempDir`. */
export function prepassArgs(compileArgs: string[], tempDir: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < compileArgs.length; i++) {
    const arg = compileArgs[i]!;
    if (arg === "--emit" || arg === "--out-dir") {
      i++;
      continue;
    }
    if (arg.startsWith("--emit=") || arg.startsWith("--out-dir=")) continue;
    out.push(arg);
  }
  out.push("--emit=dep-info", `--out-dir=${tempDir}`);
  return out;
}

export interface PrepassResult {
  depInfo: DepInfo | null;
  stderr: string;
  ms: number;
}

/** Runs the compiler's front end for dep-info. `command` is the compiler (and any wrapper before it). */
export function runPrepass(command: string[], compileArgs: string[], cwd: string): PrepassResult {
  const started = performance.now();
  const tempDir = mkdtempSync(join(tmpdir(), "kache-depinfo-"));
  try {
    const result = Bun.spawnSync({
      cmd: [...command, ...prepassArgs(compileArgs, tempDir)],
      cwd,
      stdio: withJobserverFds(["ignore", "pipe", "pipe"]) as never,
    });
    const stderr = result.stderr.toString();
    const file = readdirSync(tempDir).find((name) => name.endsWith(".d"));
    if (!result.success || !file) return { depInfo: null, stderr, ms: performance.now() - started };
    const depInfo = parseDepInfo(readFileSync(join(tempDir, file), "utf8"));
    return { depInfo, stderr, ms: performance.now() - started };
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}
