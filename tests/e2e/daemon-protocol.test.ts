// The daemon's line protocol over its real Unix socket (SPEC §7): replies to ping/status/stats, errors
// for unknown types and newer versions, garbage and oversized lines close only their own connection,
// and a client's failed connect to a dead socket fails at once, on the connect, not on a timer (how
// many milliseconds it costs is a figure of the benchmark: bench/daemon-fallback.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { callDaemon, DaemonUnavailable } from "../../src/ipc/client";
import { daemonPaths } from "../../src/ipc/daemon-paths";
import { MAX_MESSAGE_BYTES } from "../../src/ipc/protocol";
import {
  cleanUpDaemons,
  kache,
  lockPid,
  median,
  percentile,
  privateKache,
  rawConnect,
  track,
  waitFor,
} from "./daemon-support";
import { newCacheDir, removeTempDirs } from "./harness";

const TIMEOUT = 60_000;
/** The failed-connect tries' answer timeout: what a client that missed the connect error would wait. */
const ACK_TIMEOUT_MS = 1000;
let bin: string;
let cacheDir: string;
let socket: string;
let pid: number;

beforeAll(async () => {
  bin = privateKache();
  cacheDir = newCacheDir();
  socket = daemonPaths(cacheDir).socket;
  track(bin, cacheDir);
  const started = await kache(bin, ["daemon", "start"], cacheDir);
  if (started.code !== 0) throw new Error(`daemon start failed: ${started.stderr}`);
  pid = lockPid(cacheDir)!;
}, TIMEOUT);
afterAll(async () => {
  await cleanUpDaemons();
  removeTempDirs();
}, TIMEOUT);

async function expectPong(): Promise<void> {
  const conn = await rawConnect(socket);
  conn.write('{"v":1,"id":99,"type":"ping"}\n');
  expect(await conn.next()).toMatchObject({ v: 1, id: 99, ok: true, type: "pong", pid });
  conn.end();
}

describe("requests on one connection", () => {
  test(
    "ping, status and stats get their replies",
    async () => {
      const conn = await rawConnect(socket);
      conn.write('{"v":1,"id":1,"type":"ping","epoch":1}\n');
      const pong = await conn.next();
      expect(pong).toMatchObject({ v: 1, id: 1, ok: true, type: "pong", pid });
      expect(typeof pong.epoch).toBe("number");
      expect(typeof pong.version).toBe("string");

      conn.write('{"v":1,"id":2,"type":"status"}\n{"v":1,"id":3,"type":"stats"}\n'); // two in one write
      const status = await conn.next();
      expect(status).toMatchObject({ id: 2, ok: true, type: "status" });
      expect(status.status).toMatchObject({ pid, protocol: 1, socket, cacheDir, epoch: pong.epoch });
      const stats = await conn.next();
      expect(stats).toMatchObject({ id: 3, ok: true, type: "stats" });
      expect((stats.stats as { requests: Record<string, number> }).requests.ping).toBeGreaterThanOrEqual(1);
      conn.end();
    },
    TIMEOUT,
  );

  test(
    "an unknown type gets an error reply and the connection stays usable",
    async () => {
      const conn = await rawConnect(socket);
      conn.write('{"v":1,"id":7,"type":"frobnicate"}\n');
      const reply = await conn.next();
      expect(reply).toMatchObject({ v: 1, id: 7, ok: false });
      expect(String(reply.error)).toContain("frobnicate");
      conn.write('{"v":1,"id":8,"type":"ping"}\n');
      expect(await conn.next()).toMatchObject({ id: 8, ok: true, type: "pong" });
      expect(conn.isClosed()).toBe(false);
      conn.end();
    },
    TIMEOUT,
  );

  test(
    "a newer protocol version gets a clear error",
    async () => {
      const conn = await rawConnect(socket);
      conn.write('{"v":2,"id":9,"type":"ping"}\n');
      const reply = await conn.next();
      expect(reply).toMatchObject({ id: 9, ok: false });
      expect(String(reply.error)).toMatch(/protocol/i);
      expect(String(reply.error)).toContain("2");
      conn.end();
    },
    TIMEOUT,
  );
});

describe("bad input closes only its own connection", () => {
  test(
    "a garbage line gets an error reply, then that connection closes",
    async () => {
      const bystander = await rawConnect(socket);
      const conn = await rawConnect(socket);
      conn.write("this is not json\n");
      expect(await conn.next()).toMatchObject({ ok: false });
      await waitFor("the garbage connection to close", () => conn.isClosed(), 2000);
      bystander.write('{"v":1,"id":10,"type":"ping"}\n');
      expect(await bystander.next()).toMatchObject({ id: 10, ok: true, type: "pong" });
      bystander.end();
      await expectPong();
    },
    TIMEOUT,
  );

  test(
    "a message over 1 MiB without a newline closes that connection; the daemon survives",
    async () => {
      const conn = await rawConnect(socket);
      conn.write(`{"v":1,"id":11,"type":"ping","pad":"${"a".repeat(MAX_MESSAGE_BYTES + 256 * 1024)}`);
      await waitFor("the oversized connection to close", () => conn.isClosed(), 10_000);
      expect(readFileSync(daemonPaths(cacheDir).log, "utf8")).toContain("oversized message");
      expect(lockPid(cacheDir)).toBe(pid);
      await expectPong();
    },
    TIMEOUT,
  );
});

test(
  "a failed connect to a dead socket or a missing one fails on the connect, not on the answer timeout",
  async () => {
    // A real leftover: start a second daemon on another cache dir and SIGKILL it; its socket file stays.
    const deadDir = newCacheDir();
    track(bin, deadDir);
    expect((await kache(bin, ["daemon", "start"], deadDir)).code).toBe(0);
    const deadPid = lockPid(deadDir)!;
    process.kill(deadPid, "SIGKILL");
    await waitFor("the killed daemon to be gone", () => !existsSync(`/proc/${deadPid}`));
    const dead = daemonPaths(deadDir).socket;
    expect(existsSync(dead)).toBe(true);

    const measure = async (path: string, code: string) => {
      const times: number[] = [];
      for (let i = 0; i < 55; i++) {
        const started = performance.now();
        const error = await callDaemon(path, { type: "ping" }, { ackTimeoutMs: ACK_TIMEOUT_MS }).catch(
          (e) => e,
        );
        const ms = performance.now() - started;
        expect(error).toBeInstanceOf(DaemonUnavailable);
        // The connect's own errno, not "did not answer within": the wrapper's autostart keys on it.
        expect((error as DaemonUnavailable).code).toBe(code);
        if (i >= 5) times.push(ms); // the first few warm up Bun's socket code
      }
      return times;
    };
    const refused = await measure(dead, "ECONNREFUSED");
    const missing = await measure(join(deadDir, "no-such.sock"), "ENOENT");
    const fmt = (times: number[]) =>
      `median ${median(times).toFixed(3)} ms, p95 ${percentile(times, 95).toFixed(3)} ms, max ${Math.max(...times).toFixed(3)} ms`;
    console.log(`failed connect, dead socket (ECONNREFUSED), 50 tries: ${fmt(refused)}`);
    console.log(`failed connect, no socket file (ENOENT), 50 tries: ${fmt(missing)}`);
    // A client that waited for its timer would take the whole answer timeout on every try.
    expect(median(refused)).toBeLessThan(ACK_TIMEOUT_MS / 2);
    expect(median(missing)).toBeLessThan(ACK_TIMEOUT_MS / 2);
  },
  TIMEOUT,
);
