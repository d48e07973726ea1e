// Two "machines" sharing one remote: each its own cache dir, config file, daemon and checkout path
// (at different depths), as two developers or a laptop and CI would be.
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanUpDaemons, kache, track, waitFor } from "./daemon-support";
import {
  type CargoResult,
  cargo,
  copyFixture,
  KACHE_BIN,
  type KacheEvent,
  makeTempDir,
  newCacheDir,
} from "./harness";

export interface Machine {
  name: string;
  cacheDir: string;
  workspace: string;
  env: Record<string, string>;
  build(args?: string[], env?: Record<string, string | undefined>): Promise<CargoResult>;
  startDaemon(): Promise<void>;
}

/** A config file naming the remote: `[cache.remote]` with the given keys. */
export function remoteConfig(remote: Record<string, string | boolean>): string {
  const lines = Object.entries(remote).map(([key, value]) => `${key} = ${JSON.stringify(value)}`);
  const path = join(makeTempDir("kache-e2e-remote-config-"), "config.toml");
  writeFileSync(path, `[cache.remote]\n${lines.join("\n")}\n`);
  return path;
}

export function machine(name: string, fixture: string, under: string, env: Record<string, string>): Machine {
  const cacheDir = newCacheDir();
  const workspace = copyFixture(fixture, { under });
  const self: Machine = {
    name,
    cacheDir,
    workspace,
    env,
    build: (args = ["build", "--locked"], extra = {}) =>
      cargo(args, { cwd: workspace, cacheDir, env: { ...env, ...extra } }),
    async startDaemon() {
      track(KACHE_BIN, cacheDir);
      const started = await kache(KACHE_BIN, ["daemon", "start"], cacheDir, { env });
      if (started.code !== 0) throw new Error(`daemon start failed: ${started.stderr}`);
    },
  };
  return self;
}

/**
 * "crate: remote" for every unit that came from the remote, whether the wrapper asked for it
 * (remote hit) or the daemon's prefetch had brought it in already (prefetch hit); other outcomes as
 * they are. Which of the two a unit gets is a race between the prefetch and the build.
 */
export function fromRemote(events: KacheEvent[]): string[] {
  return events
    .map((event) => {
      const remote = event.outcome === "remote hit" || event.outcome === "prefetch hit";
      return `${event.crate}: ${remote ? "remote" : event.outcome}`;
    })
    .sort();
}

/** Queued uploads of a cache dir (files in `uploads/`). */
export function queuedUploads(cacheDir: string): string[] {
  try {
    return readdirSync(join(cacheDir, "uploads")).filter((name) => name.endsWith(".json"));
  } catch {
    return [];
  }
}

/** Waits until the machine's daemon has uploaded everything it was handed. */
export async function waitForUploads(m: Machine, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${m.name}'s uploads`, () => queuedUploads(m.cacheDir).length === 0, timeoutMs);
}

export { cleanUpDaemons };
