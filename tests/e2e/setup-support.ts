// Shared by the init and doctor e2e tests: a temp HOME with its own CARGO_HOME, cache dir and config
// home, the kache CLI run in it (optionally under a pseudo-terminal), and cargo built in it with no
// RUSTC_WRAPPER, so only the cargo config can route the build through kache.
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type CargoResult, cargo, makeTempDir } from "./harness";
import { runCollected } from "./run-collected";

export interface TempHome {
  home: string;
  cargoHome: string;
  cacheDir: string;
  /** `$CARGO_HOME/config.toml`. */
  cargoConfig: string;
  env: Record<string, string>;
  /** Runs `<bin> <args>` (or another kache binary) in this HOME; `extra` overrides the env. */
  kache(args: string[], extra?: Record<string, string | undefined>, program?: string): Promise<Run>;
  /** Runs it under a pseudo-terminal (`script`), typing `input` at it. */
  kacheOnTerminal(args: string[], input: string, extra?: Record<string, string | undefined>): Promise<Run>;
  build(workspace: string, extra?: Record<string, string | undefined>): Promise<CargoResult>;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Variables of the caller's shell that would change which wrapper cargo runs, or where kache looks. */
const SCRUBBED =
  /^(KACHE_|RUSTC_WRAPPER$|RUSTC_WORKSPACE_WRAPPER$|CARGO_BUILD_|CARGO_HOME$|RUSTUP_TOOLCHAIN$)/;

/** `emptyHome`: not even `~/.cargo` exists, as on a machine that never ran cargo with this HOME. */
export function tempHome(bin: string, { emptyHome = false } = {}): TempHome {
  const home = makeTempDir("kache-e2e-home-");
  const cargoHome = join(home, ".cargo");
  if (!emptyHome) mkdirSync(cargoHome);
  const cacheDir = join(home, "cache");
  const base: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !SCRUBBED.test(name)) base[name] = value;
  const env: Record<string, string> = {
    ...base,
    HOME: home,
    CARGO_HOME: cargoHome,
    // rustup's toolchains stay where they are; only cargo's own config moves into the temp HOME.
    RUSTUP_HOME: process.env.RUSTUP_HOME ?? join(homedir(), ".rustup"),
    XDG_CONFIG_HOME: join(home, ".config"),
    KACHE_CACHE_DIR: cacheDir,
    NO_COLOR: "1",
  };
  const withExtra = (extra: Record<string, string | undefined>) =>
    Object.fromEntries(
      Object.entries({ ...env, ...extra }).filter(
        (entry): entry is [string, string] => entry[1] !== undefined,
      ),
    );
  return {
    home,
    cargoHome,
    cacheDir,
    cargoConfig: join(cargoHome, "config.toml"),
    env,
    kache: (args, extra = {}, program = bin) =>
      runCollected([program, ...args], { cwd: home, env: withExtra(extra), timeoutMs: 60_000 }),
    async kacheOnTerminal(args, input, extra = {}) {
      const command = [bin, ...args].map((word) => `'${word.replace(/'/g, "'\\''")}'`).join(" ");
      const child = Bun.spawn(["script", "-qfec", command, "/dev/null"], {
        cwd: home,
        env: withExtra({ TERM: "dumb", ...extra }),
        stdin: new Blob([input]),
        stdout: "pipe",
        stderr: "pipe",
        timeout: 60_000,
      });
      const [stdout, stderr, code] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited,
      ]);
      return { code, stdout, stderr };
    },
    build: (workspace, extra = {}) =>
      cargo(["build", "--locked"], {
        cwd: workspace,
        cacheDir,
        wrapper: false,
        env: { HOME: home, CARGO_HOME: cargoHome, RUSTUP_HOME: env.RUSTUP_HOME, ...extra },
      }),
  };
}

/** The host triple of the rustc on PATH, as cargo's build scripts see it (`rustc -vV`). */
export function rustHost(): string {
  const output = Bun.spawnSync(["rustc", "-vV"], { stdout: "pipe" }).stdout.toString();
  const host = /^host: (\S+)$/m.exec(output)?.[1];
  if (!host) throw new Error(`rustc -vV named no host: ${output}`);
  return host;
}
