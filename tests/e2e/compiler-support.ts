// Helpers for e2e tests that stand something in for rustc or call kache directly: the toolchain's real
// rustc, shell-script shims, a one-file library crate, and `kache <compiler> <args>` run like cargo would.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Collected, runCollected } from "./run-collected";

let realRustc: string | undefined;

/**
 * The default toolchain's own rustc binary (`<sysroot>/bin/rustc`), not the rustup proxy on PATH: the
 * proxy picks a toolchain by its own name, so a copy or link of it under another name is no compiler.
 */
export function toolchainRustc(): string {
  if (realRustc) return realRustc;
  // The toolchain cargo would pick: the e2e harness scrubs the caller's RUSTUP_TOOLCHAIN for cargo too.
  const env = { ...process.env };
  delete env.RUSTUP_TOOLCHAIN;
  const sysroot = Bun.spawnSync(["rustc", "--print", "sysroot"], { cwd: tmpdir(), env });
  const path = join(sysroot.stdout.toString().trim(), "bin", "rustc");
  if (sysroot.exitCode !== 0 || !existsSync(path)) {
    throw new Error(`cannot find the toolchain's rustc: ${sysroot.stderr.toString()}`);
  }
  realRustc = path;
  return path;
}

/** Writes an executable shell script made of `lines`. */
export function writeScript(path: string, lines: string[]): string {
  writeFileSync(path, `${lines.join("\n")}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** `<dir>/src/lib.rs` of a crate with nothing to read but itself. */
export function writeLibCrate(dir: string): void {
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, "src", "lib.rs"), "pub fn answer() -> u32 {\n    42\n}\n");
}

export type DirectRun = Collected;

/**
 * Runs `kache <argv>` in `cwd` as cargo would run its wrapper, with `env` (a clean one: see the
 * callers) on top. Progress lines are off, so stdout and stderr are exactly what the compiler printed.
 */
export async function runDirect(
  kacheBin: string,
  argv: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<DirectRun> {
  return await runCollected([kacheBin, ...argv], { cwd, env: { ...env, KACHE_PROGRESS: "never" } });
}
