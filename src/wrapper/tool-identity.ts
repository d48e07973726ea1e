// Identities of the compiler and linker (`-vV`, `--version`), memoised on disk by binary path, size and mtime.
import { realpathSync, statSync } from "node:fs";
import { basename } from "node:path";
import type { IndexDb } from "../store/index-db";
import { KacheError } from "../util/errors";
import { hashFile } from "../util/hash";
import { isScript } from "../util/script-file";

export interface CompilerIdentity {
  /** `rustc -vV` output. */
  version: string;
  host: string;
  sysroot: string;
}

function run(cmd: string[]): string {
  const result = Bun.spawnSync({ cmd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  if (!result.success) throw new Error(`${cmd.join(" ")} failed: ${result.stderr.toString().trim()}`);
  return result.stdout.toString();
}

/** The compiler answered `-vV` with something that is not rustc: the call passes through. */
export class NotRustcError extends KacheError {}

/** The memo key for a binary, or null when its output may change without the file changing. */
function binaryStamp(path: string): string | null {
  try {
    const real = realpathSync(path.includes("/") ? path : (Bun.which(path) ?? path));
    // A rustup proxy picks a toolchain from the environment and directory: never memoise it.
    if (basename(real).startsWith("rustup") || isScript(real)) return null;
    const stat = statSync(real);
    return `${real}|${stat.size}|${stat.mtimeMs}`;
  } catch {
    return null;
  }
}

function memoised(index: IndexDb | null, kind: string, path: string, compute: () => string): string {
  const stamp = binaryStamp(path);
  if (!stamp || !index) return compute();
  return index.memoOnce(`${kind}|${stamp}`, compute);
}

/**
 * For a script in front of the real tool (`exec cc "$@" -Wl,--strip-all`), its content: it answers
 * the version question with the tool's words, whatever flags it adds. Empty for a binary.
 */
function scriptContent(path: string): string {
  try {
    const real = realpathSync(path.includes("/") ? path : (Bun.which(path) ?? path));
    return isScript(real) ? `\nscript sha256 ${hashFile(real)}` : "";
  } catch {
    return "";
  }
}

/** rustc (and clippy-driver) answer `-vV` with `rustc <version>` and a `host:` line. */
function soundsLikeRustc(version: string): boolean {
  return /^rustc \S+/.test(version) && /^host: \S+/m.test(version);
}

/** `rustc -vV` and the sysroot of `compiler`; NotRustcError when it does not answer like rustc. */
export function compilerIdentity(index: IndexDb | null, compiler: string): CompilerIdentity {
  const text = memoised(index, "rustc-identity", compiler, () => {
    let version: string;
    try {
      version = run([compiler, "-vV"]);
    } catch (error) {
      throw new NotRustcError((error as Error).message);
    }
    if (!soundsLikeRustc(version)) return JSON.stringify({ version, sysroot: null });
    const sysroot = run([compiler, "--print", "sysroot"]).trim();
    return JSON.stringify({ version, sysroot });
  });
  const { version, sysroot } = JSON.parse(text) as { version: string; sysroot: string | null };
  if (sysroot === null) {
    throw new NotRustcError(`${compiler} does not answer -vV like rustc: ${version.split("\n")[0]}`);
  }
  const host = /^host: (.+)$/m.exec(version)?.[1]?.trim() ?? "unknown";
  return { version: `${version}${scriptContent(compiler)}`, host, sysroot };
}

/**
 * `--version` of a wrapper in front of rustc (clippy-driver) or of the linker, in the C locale:
 * gcc translates its banner, and a developer's German one must key binaries as CI's English one.
 */
export function toolVersion(index: IndexDb | null, tool: string): string {
  const resolved = tool.includes("/") ? tool : (Bun.which(tool) ?? tool);
  const version = memoised(index, "tool-version-c", resolved, () => {
    const result = Bun.spawnSync({
      cmd: [resolved, "--version"],
      env: { ...process.env, LC_ALL: "C", LANGUAGE: "" },
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    return `${result.exitCode}\n${result.stdout.toString()}${result.stderr.toString()}`;
  });
  return `${version}${scriptContent(resolved)}`;
}

export function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`);
}
