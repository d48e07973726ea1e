// The build epoch (SPEC §7): a newer kache binary replaces an older daemon from the CLI, never from the
// wrapper hot path; an older binary's CLI leaves a newer daemon alone.
import { afterAll, afterEach, expect, test } from "bun:test";
import { cpSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { callDaemon } from "../../src/ipc/client";
import { daemonPaths } from "../../src/ipc/daemon-paths";
import {
  cleanUpDaemons,
  daemonPids,
  kache,
  pidAlive,
  privateKache,
  statusJson,
  track,
} from "./daemon-support";
import { cargo, copyFixture, makeTempDir, newCacheDir, removeTempDirs } from "./harness";

const TIMEOUT = 300_000;

afterEach(cleanUpDaemons);
afterAll(removeTempDirs);

const epochOf = (bin: string) => Math.floor(statSync(bin).mtimeMs);

async function remoteChecksSeen(cacheDir: string): Promise<number> {
  const reply = await callDaemon(daemonPaths(cacheDir).socket, { type: "stats" }, { ackTimeoutMs: 2000 });
  if (!("ok" in reply) || !reply.ok || reply.type !== "stats") throw new Error(JSON.stringify(reply));
  return reply.stats.requests["remote-check"] ?? 0;
}

test(
  "the wrapper keeps an older daemon; `kache daemon` from a newer binary replaces it",
  async () => {
    const older = privateKache();
    const past = new Date(Date.now() - 3600_000);
    utimesSync(older, past, past); // an hour-old build
    const newer = join(makeTempDir("kache-e2e-bin-"), "kache");
    cpSync(older, newer);
    expect(epochOf(newer)).toBeGreaterThan(epochOf(older));

    const cacheDir = newCacheDir();
    track(older, cacheDir);
    track(newer, cacheDir);
    expect((await kache(older, ["daemon", "start"], cacheDir)).code).toBe(0);
    const before = await statusJson(older, cacheDir);
    expect(before).toMatchObject({ running: true, epoch: epochOf(older) });

    // A cold build through the newer wrapper with a remote configured talks to the daemon on every miss.
    const workspace = copyFixture("path-ws");
    const build = await cargo(["build", "--locked"], {
      cwd: workspace,
      cacheDir,
      env: { RUSTC_WRAPPER: newer, KACHE_S3_BUCKET: "x" },
    });
    expect(build.code).toBe(0);
    expect(build.outcomes.miss).toBeGreaterThan(0);
    expect(await remoteChecksSeen(cacheDir)).toBeGreaterThan(0);
    expect(daemonPids(cacheDir)).toEqual([before.pid!]);
    expect((await statusJson(older, cacheDir)).pid).toBe(before.pid!);

    // The older binary's CLI does not touch a daemon that is not older than itself.
    const fromOlder = await kache(older, ["daemon"], cacheDir);
    expect(fromOlder.stdout).not.toContain("replaced");
    expect(daemonPids(cacheDir)).toEqual([before.pid!]);

    // The newer binary's CLI replaces it and says so.
    const status = await kache(newer, ["daemon"], cacheDir);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`replaced an outdated daemon (pid ${before.pid}`);
    expect(status.stdout).toContain("daemon: running");
    const after = await statusJson(newer, cacheDir);
    expect(after.pid).not.toBe(before.pid);
    expect(after.epoch).toBe(epochOf(newer));
    expect(after.epoch as number).toBeGreaterThan(before.epoch as number);
    expect(after.replaced).toBeNull(); // nothing left to replace
    expect(pidAlive(before.pid!)).toBe(false);
    expect(daemonPids(cacheDir)).toEqual([after.pid!]);
  },
  TIMEOUT,
);

test(
  "`kache daemon start` from a newer binary replaces an older daemon",
  async () => {
    const older = privateKache();
    const past = new Date(Date.now() - 3600_000);
    utimesSync(older, past, past);
    const cacheDir = newCacheDir();
    track(older, cacheDir);
    expect((await kache(older, ["daemon", "start"], cacheDir)).code).toBe(0);
    const before = await statusJson(older, cacheDir);

    // Touching the binary makes it "newer" the way installing an update would.
    const now = new Date();
    utimesSync(older, now, now);
    const start = await kache(older, ["daemon", "start"], cacheDir);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain(`replaced an outdated daemon (pid ${before.pid}`);
    const after = await statusJson(older, cacheDir);
    expect(after.pid).not.toBe(before.pid);
    expect(after.epoch).toBe(epochOf(older));
    expect(daemonPids(cacheDir)).toEqual([after.pid!]);
  },
  TIMEOUT,
);
