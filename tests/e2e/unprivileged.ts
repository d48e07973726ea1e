// Runs cargo and tools as a user who is not root, as developers build: the current user, or `nobody` under root.
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KACHE_BIN, makeTempDir } from "./harness";

const NOBODY = 65534;
const AS_NOBODY = ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--"];

export interface ToolResult {
  code: number;
  /** stdout then stderr, for messages. */
  output: string;
}

export interface UnprivilegedUser {
  uid: number;
  /** Hands `path` and everything under it to the user (a no-op when the test is not root). */
  own(path: string): void;
  /** `env` for the harness's `cargo`: cargo, rustc and kache then run as the user. */
  cargoEnv: Record<string, string | undefined>;
  /** Runs a command as the user. */
  run(command: string[], cwd: string): ToolResult;
}

function spawn(command: string[], cwd?: string): ToolResult {
  const result = Bun.spawnSync(command, { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, output: result.stdout.toString() + result.stderr.toString() };
}

function mustSpawn(command: string[]): void {
  const result = spawn(command);
  if (result.code !== 0) throw new Error(`${command.join(" ")} exited with ${result.code}: ${result.output}`);
}

/** A dir every user may read, whatever the umask. */
function makeReadableDir(path: string): void {
  mkdirSync(path);
  chmodSync(path, 0o755);
}

/** The current user, when it is not root: nothing to set up. */
function currentUser(): UnprivilegedUser {
  return { uid: process.getuid!(), own() {}, cargoEnv: {}, run: spawn };
}

/** Hardlinks (or, across filesystems, copies) the toolchain's bin and lib dirs: /root is 0700. */
function copyToolchain(into: string): string {
  // The toolchain cargo picks for the workspace: the harness scrubs RUSTUP_TOOLCHAIN for cargo too.
  const env = { ...process.env };
  delete env.RUSTUP_TOOLCHAIN;
  const sysroot = Bun.spawnSync(["rustc", "--print", "sysroot"], {
    cwd: tmpdir(),
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (sysroot.exitCode !== 0) throw new Error(`cannot find the toolchain: ${sysroot.stderr.toString()}`);
  const from = sysroot.stdout.toString().trim();
  const toolchain = join(into, "toolchain");
  makeReadableDir(toolchain);
  for (const dir of ["bin", "lib"]) {
    if (spawn(["cp", "-al", join(from, dir), toolchain]).code !== 0) {
      mustSpawn(["rm", "-rf", join(toolchain, dir)]);
      mustSpawn(["cp", "-a", join(from, dir), toolchain]);
    }
  }
  return toolchain;
}

/**
 * `nobody` with a toolchain, a kache binary, a HOME, CARGO_HOME, config and temp dir it can reach.
 * The harness runs `cargo` from PATH: here that is a script that drops to nobody and runs the
 * toolchain's own cargo (not the rustup proxy, whose home nobody cannot read). As the harness does,
 * it gives cargo a real pipe for stderr, made by nobody so kache may reopen it through /proc.
 */
function nobody(): UnprivilegedUser {
  const root = makeTempDir("kache-e2e-nobody-");
  chmodSync(root, 0o755); // mkdtemp made it 0700
  const toolchain = copyToolchain(root);
  const kache = join(root, "kache"); // the repo may live under a 0700 dir
  copyFileSync(KACHE_BIN, kache);
  chmodSync(kache, 0o755);
  const shims = join(root, "shims");
  makeReadableDir(shims);
  const cargoShim = join(shims, "cargo");
  writeFileSync(
    cargoShim,
    `#!/bin/sh\nexec ${AS_NOBODY.join(" ")} bash -c 'exec "$@" 2> >(cat >&2)' bash "${toolchain}/bin/cargo" "$@"\n`,
  );
  chmodSync(cargoShim, 0o755);
  const home = join(root, "home");
  for (const dir of [".cargo", ".config", "tmp"]) mkdirSync(join(home, dir), { recursive: true });
  const own = (path: string) => mustSpawn(["chown", "-R", `${NOBODY}:${NOBODY}`, path]);
  own(home);
  return {
    uid: NOBODY,
    own,
    cargoEnv: {
      PATH: [shims, join(toolchain, "bin"), process.env.PATH].join(":"),
      HOME: home,
      CARGO_HOME: join(home, ".cargo"),
      XDG_CONFIG_HOME: join(home, ".config"),
      TMPDIR: join(home, "tmp"),
      RUSTUP_HOME: undefined,
      RUSTC_WRAPPER: kache,
    },
    run: (command, cwd) => spawn([...AS_NOBODY, ...command], cwd),
  };
}

/** A user whose files are protected by their modes: the test's own, or `nobody` when that is root. */
export function unprivilegedUser(): UnprivilegedUser {
  return process.getuid!() === 0 ? nobody() : currentUser();
}
