// The real compiler's identity (`--version`, its binary's sha256) and target (`-dumpmachine`),
// memoised in the index by realpath, size and mtime: computed once per compiler binary.
import { realpathSync, statSync } from "node:fs";
import type { IndexDb } from "../store/index-db";
import { hashFile } from "../util/hash";
import { isScript } from "../util/script-file";
import { CC_LOOP_GUARD } from "./real-compiler";

export interface CcIdentity {
  /** `--version` output and the binary's sha256. */
  version: string;
  binary: string;
  /** `-dumpmachine`: the default target. */
  machine: string;
}

function run(compiler: string, flag: string): string {
  const result = Bun.spawnSync({
    cmd: [compiler, flag],
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, [CC_LOOP_GUARD]: "1", LC_ALL: "C" },
  });
  if (!result.success) throw new Error(`${compiler} ${flag} failed: ${result.stderr.toString().trim()}`);
  return result.stdout.toString().trim();
}

function computeIdentity(compiler: string, real: string): CcIdentity {
  return {
    version: run(compiler, "--version"),
    binary: hashFile(real),
    machine: run(compiler, "-dumpmachine"),
  };
}

/** The identity of `compiler` (a path or a name found on PATH). */
export function ccIdentity(index: IndexDb, compiler: string): CcIdentity {
  const real = realpathSync(compiler.includes("/") ? compiler : (Bun.which(compiler) ?? compiler));
  if (isScript(real)) return computeIdentity(compiler, real);
  const stat = statSync(real);
  // Memoised under the path it was run as too: `c++` and `g++` may be one binary with two answers.
  const name = `cc-identity|${compiler}|${real}|${stat.size}|${stat.mtimeMs}`;
  return JSON.parse(index.memoOnce(name, () => JSON.stringify(computeIdentity(compiler, real))));
}
