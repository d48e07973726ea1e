// The three ways the workload is built (no cache, sccache, kache): environment and cache reset of each.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type ModeName = "none" | "sccache" | "kache";

export const modeNames: ModeName[] = ["none", "sccache", "kache"];

export interface Mode {
  name: ModeName;
  /** This mode's private copy of the workload. */
  workspace: string;
  env: Record<string, string>;
  /** Empties the cache (and restarts sccache's server on its fresh dir). */
  resetCache(): void;
  stop(): void;
}

/** The caller's environment without anything that would change a build: wrappers, caches, target dirs. */
export function baseEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || /^(KACHE_|SCCACHE_)/.test(name)) continue;
    if (/^(CARGO_(BUILD_)?TARGET_DIR|(CARGO_BUILD_)?RUSTC_(WORKSPACE_)?WRAPPER)$/.test(name)) continue;
    env[name] = value;
  }
  // Wrappers are removed, never set empty: an empty RUSTC_WORKSPACE_WRAPPER turns off cargo's rustc
  // info cache (target/.rustc_info.json), so every no-op build would run `rustc -vV` and `--print`.
  // Cargo's defaults, as users run it: incremental on for the workspace members in the dev profile.
  env.CARGO_TERM_COLOR = "never";
  env.CARGO_TERM_PROGRESS_WHEN = "never";
  return env;
}

function run(command: string[], env: Record<string, string>): void {
  const result = Bun.spawnSync(command, { env, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) {
    throw new Error(`${command.join(" ")} exited with ${result.exitCode}: ${result.stderr.toString()}`);
  }
}

function freshDirectory(path: string): void {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
}

export function noCacheMode(workspace: string): Mode {
  return { name: "none", workspace, env: baseEnvironment(), resetCache() {}, stop() {} };
}

export function sccacheMode(workspace: string, cacheDirectory: string): Mode {
  // A port of our own, so another sccache server on this machine is never used or stopped.
  const port = String(20000 + (process.pid % 20000));
  const env = {
    ...baseEnvironment(),
    RUSTC_WRAPPER: "sccache",
    SCCACHE_DIR: cacheDirectory,
    SCCACHE_SERVER_PORT: port,
    SCCACHE_IDLE_TIMEOUT: "0",
  };
  const stop = () => {
    Bun.spawnSync(["sccache", "--stop-server"], { env, stdout: "ignore", stderr: "ignore" });
  };
  return {
    name: "sccache",
    workspace,
    env,
    resetCache() {
      stop();
      freshDirectory(cacheDirectory);
      run(["sccache", "--start-server"], env);
      run(["sccache", "--zero-stats"], env);
    },
    stop,
  };
}

export function kacheMode(workspace: string, cacheDirectory: string, kache: string): Mode {
  // An empty config file: no ~/.config/kache/config.toml or .kache.toml of the user's applies.
  const config = join(cacheDirectory, "..", "kache-config.toml");
  writeFileSync(config, "");
  const env = {
    ...baseEnvironment(),
    RUSTC_WRAPPER: kache,
    KACHE_CACHE_DIR: cacheDirectory,
    KACHE_CONFIG: config,
    KACHE_PROGRESS: "never",
  };
  return {
    name: "kache",
    workspace,
    env,
    resetCache: () => freshDirectory(cacheDirectory),
    stop() {},
  };
}

export interface SccacheCounts {
  hits: number;
  misses: number;
  notCached: number;
}

function sumCounts(value: unknown): number {
  const counts = (value as { counts?: Record<string, number> } | undefined)?.counts ?? {};
  return Object.values(counts).reduce((total, count) => total + count, 0);
}

/** sccache's stats since the last zero (its JSON `stats` object, null when unreadable), then zeroes them. */
// biome-ignore lint/suspicious/noExplicitAny: sccache's own JSON
export function takeSccacheStats(mode: Mode): any {
  const result = Bun.spawnSync(["sccache", "--show-stats", "--stats-format", "json"], {
    env: mode.env,
    stderr: "ignore",
  });
  Bun.spawnSync(["sccache", "--zero-stats"], { env: mode.env, stdout: "ignore", stderr: "ignore" });
  try {
    return JSON.parse(result.stdout.toString()).stats ?? null;
  } catch {
    return null;
  }
}

/** sccache's hit and miss counts since the last zero, then zeroes them. */
export function takeSccacheCounts(mode: Mode): SccacheCounts {
  const stats = takeSccacheStats(mode);
  try {
    const notCached = Object.values((stats.not_cached ?? {}) as Record<string, number>);
    return {
      hits: sumCounts(stats.cache_hits),
      misses: sumCounts(stats.cache_misses),
      notCached: notCached.reduce((total, count) => total + count, 0),
    };
  } catch {
    return { hits: Number.NaN, misses: Number.NaN, notCached: Number.NaN };
  }
}
