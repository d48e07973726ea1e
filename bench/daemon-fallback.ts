// Micro-figures of the wrapper's daemon fallbacks, timed on their own rather than inside a loaded test
// run: a failed connect (dead socket, no socket), a remote check against a daemon that never answers,
// and a warm rebuild of tests/fixtures/path-ws with a remote configured but no daemon listening.

import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSettings } from "../src/config/load";
import { callDaemon, DaemonUnavailable } from "../src/ipc/client";
import { daemonPaths } from "../src/ipc/daemon-paths";
import { forgetUnavailableDaemon, remoteCheck } from "../src/wrapper/daemon-hooks";
import { baseEnvironment } from "./modes";
import { median, percentile } from "./stats";

export interface Spread {
  minMs: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  samples: number;
}

export interface DaemonFallbackFigures {
  /** `callDaemon` to a socket file nobody listens on (ECONNREFUSED), as a killed daemon leaves it. */
  refused: Spread;
  /** `callDaemon` to a path with no socket file (ENOENT). */
  missing: Spread;
  /** The wrapper's own `remoteCheck` against a daemon that accepts and never replies (its answer timeout). */
  silent: Spread;
  /** Warm path-ws rebuilds (`rm -rf target`, all local hits) with KACHE_S3_BUCKET set and a dead socket, and without. */
  warmWithRemote: Spread;
  warmWithoutRemote: Spread;
}

const connectSamples = 50;
const connectWarmups = 5;
const silentSamples = 30;

function spread(values: number[]): Spread {
  return {
    minMs: Math.min(...values),
    medianMs: median(values),
    p95Ms: percentile(values, 95),
    maxMs: Math.max(...values),
    samples: values.length,
  };
}

async function failedConnects(path: string, code: string): Promise<Spread> {
  const times: number[] = [];
  for (let i = 0; i < connectWarmups + connectSamples; i++) {
    const started = performance.now();
    const error = await callDaemon(path, { type: "ping" }, { ackTimeoutMs: 1000 }).catch((e) => e);
    const ms = performance.now() - started;
    if (!(error instanceof DaemonUnavailable) || error.code !== code)
      throw new Error(`a connect to ${path} should fail with ${code}, got ${error}`);
    if (i >= connectWarmups) times.push(ms); // the first few warm up Bun's socket code
  }
  return spread(times);
}

/** A socket file whose listener was SIGKILLed: the file stays, nobody accepts. */
async function deadSocket(path: string): Promise<void> {
  const listener = Bun.spawn(
    [
      process.execPath,
      "-e",
      `Bun.listen({ unix: ${JSON.stringify(path)}, socket: { data() {} } }); setInterval(() => {}, 1e6);`,
    ],
    { stdout: "ignore", stderr: "inherit" },
  );
  try {
    const deadline = Date.now() + 10_000;
    while (!existsSync(path)) {
      if (Date.now() > deadline) throw new Error(`no socket at ${path} after 10 s`);
      await Bun.sleep(10);
    }
  } finally {
    listener.kill("SIGKILL"); // also when the socket never came: leave no listener behind
    await listener.exited;
  }
}

async function silentRemoteChecks(cacheDir: string): Promise<Spread> {
  mkdirSync(cacheDir, { recursive: true });
  const config = join(cacheDir, "config.toml");
  writeFileSync(config, "");
  const env = { KACHE_CACHE_DIR: cacheDir, KACHE_CONFIG: config, HOME: cacheDir, XDG_CONFIG_HOME: cacheDir };
  const { settings } = loadSettings({ cwd: cacheDir, env });
  const held: unknown[] = [];
  const server = Bun.listen({
    unix: daemonPaths(cacheDir).socket,
    socket: { open: (socket) => void held.push(socket), data: () => {} },
  });
  try {
    const times: number[] = [];
    for (let i = 0; i < silentSamples; i++) {
      forgetUnavailableDaemon(); // each try stands for a wrapper process of its own
      const started = performance.now();
      // A timeout is not "no daemon", so this never starts one.
      if (await remoteCheck(settings, "0".repeat(64), "bench")) throw new Error("a silent daemon hit");
      times.push(performance.now() - started);
    }
    return spread(times);
  } finally {
    server.stop(true);
  }
}

const warmRounds = 5;

function timedBuild(workspace: string, env: Record<string, string>): number {
  rmSync(join(workspace, "target"), { recursive: true, force: true });
  const started = performance.now();
  const result = Bun.spawnSync(["cargo", "build", "--locked"], { cwd: workspace, env, stderr: "pipe" });
  const ms = performance.now() - started;
  if (result.exitCode !== 0) throw new Error(`cargo build of path-ws failed: ${result.stderr.toString()}`);
  return ms;
}

/** Fills a cache with path-ws, leaves a dead daemon socket in it, then alternates warm rebuilds. */
async function warmRebuilds(kache: string, repository: string, directory: string) {
  const workspace = join(directory, "path-ws");
  const source = join(repository, "tests", "fixtures", "path-ws");
  cpSync(source, workspace, { recursive: true, filter: (path) => !path.startsWith(join(source, "target")) });
  const cacheDir = join(directory, "warm-cache");
  mkdirSync(cacheDir);
  const config = join(directory, "warm-config.toml");
  writeFileSync(config, "");
  const env = {
    ...baseEnvironment(),
    RUSTC_WRAPPER: kache,
    KACHE_CACHE_DIR: cacheDir,
    KACHE_CONFIG: config,
    KACHE_PROGRESS: "never",
  };
  timedBuild(workspace, env); // cold: fills the cache
  await deadSocket(daemonPaths(cacheDir).socket);
  const times = { with: [] as number[], without: [] as number[] };
  for (let round = 0; round < warmRounds; round++) {
    const order = round % 2 === 0 ? (["with", "without"] as const) : (["without", "with"] as const);
    for (const mode of order)
      times[mode].push(timedBuild(workspace, mode === "with" ? { ...env, KACHE_S3_BUCKET: "x" } : env));
  }
  // Hits never ask the daemon, so none should have been started; stop one if it was.
  Bun.spawnSync([kache, "daemon", "stop"], { env, stdout: "ignore", stderr: "ignore" });
  return { warmWithRemote: spread(times.with), warmWithoutRemote: spread(times.without) };
}

export async function measureDaemonFallbacks(
  kache: string,
  repository: string,
): Promise<DaemonFallbackFigures> {
  const directory = mkdtempSync(join(tmpdir(), "kache-bench-daemon-"));
  try {
    const dead = join(directory, "dead.sock");
    await deadSocket(dead);
    const refused = await failedConnects(dead, "ECONNREFUSED");
    const missing = await failedConnects(join(directory, "no-such.sock"), "ENOENT");
    const silent = await silentRemoteChecks(join(directory, "cache"));
    return { refused, missing, silent, ...(await warmRebuilds(kache, repository, directory)) };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
