// Identities of the compiler and linker (`-vV`, `--version`), memoised on disk by binary path, size and mtime.
import { realpathSync, statSync } from "node:fs";
import { basename } from "node:path";
import type { IndexDb } from "../store/index-db";

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

/** The memo key for a binary, or null when its output may change without the file changing. */
function binaryStamp(path: string): string | null {
  try {
    const real = realpathSync(path);
    // A rustup proxy picks a toolchain from the environment and directory: never memoise it.
    if (basename(real).startsWith("rustup")) return null;
    const stat = statSync(real);
    return `${real}|${stat.size}|${stat.mtimeMs}`;
  } catch {
    return null;
  }
}

function memoised(index: IndexDb | null, kind: string, path: string, compute: () => string): string {
  const stamp = binaryStamp(path);
  const name = stamp ? `${kind}|${stamp}` : null;
  if (name && index) {
    const cached = index.getMemo(name);
    if (cached !== null) return cached;
  }
  const value = compute();
  if (name && index) {
    try {
      index.setMemo(name, value);
    } catch {
      // a memo we cannot write only costs a re-run next time
    }
  }
  return value;
}

export function compilerIdentity(index: IndexDb | null, compiler: string): CompilerIdentity {
  const text = memoised(index, "rustc-identity", compiler, () => {
    const version = run([compiler, "-vV"]);
    const sysroot = run([compiler, "--print", "sysroot"]).trim();
    return JSON.stringify({ version, sysroot });
  });
  const { version, sysroot } = JSON.parse(text) as { version: string; sysroot: string };
  const host = /^host: (.+)$/m.exec(version)?.[1]?.trim() ?? "unknown";
  return { version, host, sysroot };
}

/** `--version` of a wrapper in front of rustc (clippy-driver) or of the linker. */
export function toolVersion(index: IndexDb | null, tool: string): string {
  const resolved = tool.includes("/") ? tool : (Bun.which(tool) ?? tool);
  return memoised(index, "tool-version", resolved, () => {
    const result = Bun.spawnSync({
      cmd: [resolved, "--version"],
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    return `${result.exitCode}\n${result.stdout.toString()}${result.stderr.toString()}`;
  });
}

export function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`);
}
