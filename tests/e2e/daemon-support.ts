// Shared helpers of the daemon-* e2e tests: a private kache binary, running its CLI, finding daemon
// processes in /proc, raw socket connections, and cleaning up every daemon a test started.
import { chmodSync, cpSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { daemonPaths } from "../../src/ipc/daemon-paths";
import { KACHE_BIN, makeTempDir } from "./harness";
import { runCollected } from "./run-collected";

/**
 * A copy of dist/kache in its own temp dir. Others may rebuild dist/kache while tests run; a daemon
 * started from it would then look outdated and be replaced mid-test. A copy's epoch is its copy time.
 */
export function privateKache(): string {
  const path = join(makeTempDir("kache-e2e-bin-"), "kache");
  cpSync(KACHE_BIN, path);
  chmodSync(path, 0o755);
  return path;
}

let configHome: string | undefined;

/** The environment for kache commands: no KACHE_* from the caller, an empty config home, the cache dir. */
export function kacheEnv(cacheDir: string, extra: Record<string, string | undefined> = {}) {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("KACHE_")) delete env[name];
  configHome ??= makeTempDir("kache-e2e-config-");
  Object.assign(env, { XDG_CONFIG_HOME: configHome, KACHE_CACHE_DIR: cacheDir, NO_COLOR: "1" }, extra);
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `<bin> <args>` to completion (killed after `timeoutMs`), without blocking this event loop. */
export async function kache(
  bin: string,
  args: string[],
  cacheDir: string,
  { env = {}, timeoutMs = 30_000 }: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<RunResult> {
  const started = performance.now();
  const run = await runCollected([bin, ...args], { env: kacheEnv(cacheDir, env), timeoutMs });
  return { ...run, ms: performance.now() - started };
}

/** `kache daemon --json`. */
export async function statusJson(
  bin: string,
  cacheDir: string,
  env: Record<string, string | undefined> = {},
) {
  const result = await kache(bin, ["daemon", "--json"], cacheDir, { env });
  if (result.code !== 0) throw new Error(`kache daemon --json failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown> & { running: boolean; pid?: number };
}

/** Alive and not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Live `kache daemon run` processes whose KACHE_CACHE_DIR is `cacheDir`. */
export function daemonPids(cacheDir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      const at = argv.indexOf("daemon");
      if (at === -1 || argv[at + 1] !== "run") continue;
      const environ = readFileSync(`/proc/${name}/environ`, "utf8").split("\0");
      if (environ.includes(`KACHE_CACHE_DIR=${cacheDir}`) && pidAlive(Number(name))) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export function lockPid(cacheDir: string): number | null {
  try {
    return Number.parseInt(readFileSync(daemonPaths(cacheDir).lock, "utf8"), 10);
  } catch {
    return null;
  }
}

/** Polls `check` every 10 ms until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}

const started: { bin: string; cacheDir: string }[] = [];

/** Remembers a (binary, cache dir) pair whose daemons `cleanUpDaemons` stops. */
export function track(bin: string, cacheDir: string): void {
  started.push({ bin, cacheDir });
}

/** For afterEach: `kache daemon stop`, then SIGKILL whatever daemon process is left. */
export async function cleanUpDaemons(): Promise<void> {
  for (const { bin, cacheDir } of started.splice(0)) {
    await kache(bin, ["daemon", "stop"], cacheDir, { timeoutMs: 20_000 }).catch(() => {});
    const leftovers = new Set(daemonPids(cacheDir));
    const fromLock = lockPid(cacheDir);
    if (
      fromLock &&
      pidAlive(fromLock) &&
      readFileSync(`/proc/${fromLock}/cmdline`, "utf8").includes("daemon")
    )
      leftovers.add(fromLock);
    for (const pid of leftovers) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

/** A raw line-protocol connection: write text, read reply lines, notice when the daemon closes it. */
export interface RawConnection {
  write(text: string): void;
  /** The next line the daemon sent, parsed; throws when none comes within `timeoutMs`. */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the connection is closed (by either side). */
  closed: Promise<void>;
  isClosed(): boolean;
  end(): void;
}

export async function rawConnect(socketPath: string): Promise<RawConnection> {
  let buffered = "";
  const lines: string[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  let onClosed!: () => void;
  const closedPromise = new Promise<void>((resolve) => {
    onClosed = resolve;
  });
  let pending = Buffer.alloc(0);
  const markClosed = () => {
    closed = true;
    onClosed();
    wake?.();
  };
  const flush = (s: { write(data: Uint8Array): number }) => {
    if (closed || pending.length === 0) return;
    const written = s.write(pending);
    if (written > 0) pending = pending.subarray(written);
  };
  const socket = await Bun.connect({
    unix: socketPath,
    socket: {
      data(_s, chunk) {
        buffered += chunk.toString();
        for (let at = buffered.indexOf("\n"); at !== -1; at = buffered.indexOf("\n")) {
          lines.push(buffered.slice(0, at));
          buffered = buffered.slice(at + 1);
        }
        wake?.();
      },
      drain: (s) => flush(s),
      close: markClosed,
      end: markClosed,
      error: markClosed,
    },
  });
  return {
    write(text) {
      pending = Buffer.concat([pending, Buffer.from(text)]);
      flush(socket);
    },
    async next(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      while (lines.length === 0) {
        if (closed) throw new Error("connection closed before a reply");
        if (Date.now() > deadline) throw new Error(`no reply within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 20);
        });
        wake = null;
      }
      return JSON.parse(lines.shift()!) as Record<string, unknown>;
    },
    closed: closedPromise,
    isClosed: () => closed,
    end: () => socket.end(),
  };
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
