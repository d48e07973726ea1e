// The daemon's lifecycle with real processes (SPEC §7): start/status/stop, one daemon per cache dir even
// under racing starts, recovery from a SIGKILLed daemon's stale socket, foreground run and SIGTERM, idle
// timeout exit code, and owner-only permissions.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { callDaemon } from "../../src/ipc/client";
import { daemonPaths } from "../../src/ipc/daemon-paths";
import {
  cleanUpDaemons,
  daemonPids,
  kache,
  kacheEnv,
  lockPid,
  pidAlive,
  privateKache,
  statusJson,
  track,
  waitFor,
} from "./daemon-support";
import { makeTempDir, newCacheDir, REPO_ROOT, removeTempDirs } from "./harness";

const TIMEOUT = 60_000;
const VERSION = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version as string;
let bin: string;

beforeAll(() => {
  bin = privateKache();
});
afterEach(cleanUpDaemons);
afterAll(removeTempDirs);

function cacheDirFor(): string {
  const cacheDir = newCacheDir();
  track(bin, cacheDir);
  return cacheDir;
}

async function start(cacheDir: string): Promise<number> {
  const result = await kache(bin, ["daemon", "start"], cacheDir);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  const status = await statusJson(bin, cacheDir);
  expect(status.running).toBe(true);
  return status.pid!;
}

async function pingable(socket: string): Promise<boolean> {
  try {
    const reply = await callDaemon(socket, { type: "ping" }, { ackTimeoutMs: 500 });
    return "ok" in reply && reply.ok;
  } catch {
    return false;
  }
}

describe("start, status, stop", () => {
  test(
    "status shows the running daemon's pid and version; stop ends the process",
    async () => {
      const cacheDir = cacheDirFor();
      const result = await kache(bin, ["daemon", "start"], cacheDir);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^started: pid \d+/);

      const status = await statusJson(bin, cacheDir);
      expect(status).toMatchObject({ running: true, version: VERSION, protocol: 1 });
      expect(status.pid).toBe(lockPid(cacheDir)!);
      expect(pidAlive(status.pid!)).toBe(true);
      expect(daemonPids(cacheDir)).toEqual([status.pid!]);
      expect(status.socket).toBe(daemonPaths(cacheDir).socket);
      const human = await kache(bin, ["daemon"], cacheDir);
      expect(human.stdout).toContain("daemon: running");
      expect(human.stdout).toContain(`pid:      ${status.pid}`);
      expect(human.stdout).toContain(`version:  ${VERSION}`);

      const stop = await kache(bin, ["daemon", "stop"], cacheDir);
      expect(stop.code).toBe(0);
      expect(stop.stdout).toContain(`stopped daemon pid ${status.pid}`);
      expect(pidAlive(status.pid!)).toBe(false);
      expect((await statusJson(bin, cacheDir)).running).toBe(false);
      expect((await kache(bin, ["daemon"], cacheDir)).stdout).toContain("daemon: stopped");
      expect(existsSync(daemonPaths(cacheDir).socket)).toBe(false);
      expect(existsSync(daemonPaths(cacheDir).lock)).toBe(false);
      expect((await kache(bin, ["daemon", "stop"], cacheDir)).stdout).toContain("was not running");
    },
    TIMEOUT,
  );

  test(
    "a second start finds the running daemon and starts no other",
    async () => {
      const cacheDir = cacheDirFor();
      const pid = await start(cacheDir);
      const again = await kache(bin, ["daemon", "start"], cacheDir);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(`already running: pid ${pid}`);
      expect(daemonPids(cacheDir)).toEqual([pid]);
    },
    TIMEOUT,
  );

  test(
    "two concurrent starts both succeed and leave exactly one daemon",
    async () => {
      const cacheDir = cacheDirFor();
      const [a, b] = await Promise.all([
        kache(bin, ["daemon", "start"], cacheDir),
        kache(bin, ["daemon", "start"], cacheDir),
      ]);
      expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, "", ""]);
      const pidOf = (out: string) => Number(/pid (\d+)/.exec(out)?.[1]);
      expect(pidOf(a.stdout)).toBe(pidOf(b.stdout));
      // A losing `daemon run` exits once it sees the lock: wait for that, then check it stays at one.
      const [pid] = await waitFor(
        "one daemon process",
        () => daemonPids(cacheDir).length === 1 && daemonPids(cacheDir),
      );
      await Bun.sleep(300);
      expect(daemonPids(cacheDir)).toEqual([pid!]);
      expect(pid).toBe(pidOf(a.stdout));
      expect(lockPid(cacheDir)).toBe(pid!);
    },
    TIMEOUT,
  );
});

test(
  "after a SIGKILL, status says stopped and the next start clears the stale socket",
  async () => {
    const cacheDir = cacheDirFor();
    const paths = daemonPaths(cacheDir);
    const pid = await start(cacheDir);
    process.kill(pid, "SIGKILL");
    // Wait until it is reaped, not just dead: here PID 1 reaps orphans only about once a second, and
    // kache (kill(pid, 0)) counts a zombie as a live lock holder.
    await waitFor("the killed daemon to be reaped", () => !existsSync(`/proc/${pid}`));
    expect(existsSync(paths.socket)).toBe(true); // left behind
    expect(lockPid(cacheDir)).toBe(pid);

    const status = await kache(bin, ["daemon"], cacheDir, { timeoutMs: 10_000 });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("daemon: stopped");

    const newPid = await start(cacheDir);
    expect(newPid).not.toBe(pid);
    expect(lockPid(cacheDir)).toBe(newPid);
    expect(await pingable(paths.socket)).toBe(true);
    expect(readFileSync(paths.log, "utf8")).toContain("removed a stale socket");
  },
  TIMEOUT,
);

test(
  "`daemon run` logs to stderr in the foreground; SIGTERM exits 0 and removes socket and lock",
  async () => {
    const cacheDir = cacheDirFor();
    const paths = daemonPaths(cacheDir);
    const child = Bun.spawn([bin, "daemon", "run"], {
      env: kacheEnv(cacheDir),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const stderr = new Response(child.stderr).text();
    await waitFor("the foreground daemon to answer", () => pingable(paths.socket));
    expect(lockPid(cacheDir)).toBe(child.pid);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    const text = await stderr;
    expect(text).toContain(`kache daemon info: daemon ${VERSION} started: pid ${child.pid}`);
    expect(text).toContain("stopping: received SIGTERM");
    expect(existsSync(paths.socket)).toBe(false);
    expect(existsSync(paths.lock)).toBe(false);
  },
  TIMEOUT,
);

test(
  "KACHE_DAEMON_IDLE_TIMEOUT=1: the daemon exits by itself with code 0, status asks (a monitor's) do not keep it up",
  async () => {
    const cacheDir = cacheDirFor();
    const paths = daemonPaths(cacheDir);
    const child = Bun.spawn([bin, "daemon", "run"], {
      env: kacheEnv(cacheDir, { KACHE_DAEMON_IDLE_TIMEOUT: "1" }),
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    const stderr = new Response(child.stderr).text();
    await waitFor("the daemon to answer", () => pingable(paths.socket));
    const lastRequest = Date.now();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        await callDaemon(paths.socket, { type: "status" }, { ackTimeoutMs: 500 }).catch(() => {});
        await Bun.sleep(100);
      }
    })();
    const code = await Promise.race([child.exited, Bun.sleep(10_000).then(() => "still running")]);
    watching = false;
    await watcher;
    const idleMs = Date.now() - lastRequest;
    if (code === "still running") child.kill("SIGKILL");
    expect(code).toBe(0);
    expect(idleMs).toBeGreaterThanOrEqual(900);
    expect(idleMs).toBeLessThan(5000);
    expect(await stderr).toContain("stopping: idle timeout");
    expect(existsSync(paths.socket)).toBe(false);
    expect(existsSync(paths.lock)).toBe(false);
  },
  TIMEOUT,
);

test(
  "the socket is 0600 and a cache dir the daemon creates is not group/world-writable",
  async () => {
    const cacheDir = join(makeTempDir("kache-e2e-fresh-"), "nested", "cache");
    track(bin, cacheDir);
    await start(cacheDir);
    expect(statSync(daemonPaths(cacheDir).socket).mode & 0o777).toBe(0o600);
    expect(statSync(cacheDir).mode & 0o022).toBe(0);
    expect(statSync(daemonPaths(cacheDir).log).mode & 0o077).toBe(0);
  },
  TIMEOUT,
);
