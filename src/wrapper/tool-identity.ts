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

interface ToolFile {
  real: string;
  script: boolean;
  /** The memo key, or null when its answer may change without the file changing. */
  stamp: string | null;
}

const toolFiles = new Map<string, ToolFile | null>();

/** What the file behind `path` is, looked at once per process. */
function toolFile(path: string): ToolFile | null {
  let known = toolFiles.get(path);
  if (known !== undefined) return known;
  try {
    const real = realpathSync(path.includes("/") ? path : (Bun.which(path) ?? path));
    const script = isScript(real);
    const stat = statSync(real);
    // A rustup proxy picks a toolchain from the environment and directory: never memoise it.
    const stamp =
      basename(real).startsWith("rustup") || script ? null : `${real}|${stat.size}|${stat.mtimeMs}`;
    known = { real, script, stamp };
  } catch {
    known = null;
  }
  toolFiles.set(path, known);
  return known;
}

function memoised(index: IndexDb | null, kind: string, path: string, compute: () => string): string {
  const stamp = toolFile(path)?.stamp;
  if (!stamp || !index) return compute();
  return index.memoOnce(`${kind}|${stamp}`, compute);
}

/**
 * `answer` (a version) of the tool at `path`, and, for a script in front of the real tool
 * (`exec cc "$@" -Wl,--strip-all`), its content: it answers with the tool's words whatever flags
 * it adds.
 */
export function withScriptContent(path: string, answer: string): string {
  const file = toolFile(path);
  return file?.script ? `${answer}\nscript sha256 ${hashFile(file.real)}` : answer;
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
  return { version: withScriptContent(compiler, version), host, sysroot };
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
  return withScriptContent(resolved, version);
}

export function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`);
}
