// What the daemon tells the monitor about transfers (its "transfers" request): after a real build
// with a filesystem remote, the uploads it made (real crates, keys in the index, the objects' exact
// sizes); on a second machine, the downloads; the reply's shape on the wire; null, fast, from no daemon.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSettings } from "../../src/config/load";
import type { Settings } from "../../src/config/settings";
import { daemonTransfers } from "../../src/daemon/control";
import { daemonPaths } from "../../src/ipc/daemon-paths";
import type { DaemonTransfers, TransferRecord } from "../../src/ipc/protocol";
import { entryObjectKey } from "../../src/remote/remote";
import { IndexDb } from "../../src/store/index-db";
import { queueUpload } from "../../src/store/upload-queue";
import { daemonPids, rawConnect } from "./daemon-support";
import { makeTempDir, newCacheDir, PATH_WS_UNITS, removeTempDirs } from "./harness";
import { cleanUpDaemons, type Machine, machine, remoteConfig, waitForUploads } from "./remote-support";

afterAll(async () => {
  await cleanUpDaemons();
  removeTempDirs();
});

const RECORD_FIELDS = ["at", "bytes", "cause", "crate", "direction", "key", "ms", "ok", "remote"];

describe("the daemon's transfers, with a filesystem remote shared by two machines", () => {
  const bucket = makeTempDir("kache-e2e-transfers-bucket-");
  const env = { KACHE_CONFIG: remoteConfig({ type: "filesystem", path: bucket }) };
  const a = machine("A", "path-ws", "a", env);
  const b = machine("B", "path-ws", "b/deeper", env);
  const uploadedKeys = new Map<string, string>();

  function settingsOf(m: Machine): Settings {
    return loadSettings({ env: { ...process.env, ...env, KACHE_CACHE_DIR: m.cacheDir } }).settings;
  }

  async function transfersOf(m: Machine): Promise<DaemonTransfers> {
    const transfers = await daemonTransfers(settingsOf(m));
    if (!transfers) throw new Error(`${m.name}'s daemon did not answer "transfers"`);
    return transfers;
  }

  /** The size of the object a record names, in the bucket. */
  function objectSize(m: Machine, record: TransferRecord): number {
    return statSync(join(bucket, entryObjectKey(settingsOf(m).remote, record.crate, record.key))).size;
  }

  test("A builds: every entry's upload is listed, with its key, the object's size and the remote", async () => {
    await a.startDaemon();
    const before = await transfersOf(a);
    expect(before).toEqual({ inFlight: [], recent: [], queued: 0, uploadsDone: 0, downloadsDone: 0 });
    const buildStarted = Date.now();
    const built = await a.build();
    expect(built.code).toBe(0);
    await waitForUploads(a);
    const transfers = await transfersOf(a);
    const uploads = transfers.recent.filter((record) => record.direction === "upload");
    expect(uploads.map((record) => record.crate).sort()).toEqual(PATH_WS_UNITS);
    // Nothing was in the remote for A to download.
    expect(transfers.recent.length).toBe(uploads.length);
    expect(transfers).toMatchObject({
      inFlight: [],
      queued: 0,
      uploadsDone: PATH_WS_UNITS.length,
      downloadsDone: 0,
    });
    const index = IndexDb.open(a.cacheDir);
    try {
      for (const record of uploads) {
        expect(Object.keys(record).sort()).toEqual(RECORD_FIELDS);
        expect(record).toMatchObject({ ok: true, cause: "upload", remote: bucket });
        expect(index.getEntry(record.key)?.crate).toBe(record.crate);
        expect(record.bytes).toBeGreaterThan(0);
        expect(record.bytes).toBe(objectSize(a, record));
        expect(record.ms).toBeGreaterThanOrEqual(0);
        expect(record.at).toBeGreaterThanOrEqual(buildStarted);
        expect(record.at).toBeLessThanOrEqual(Date.now());
        uploadedKeys.set(record.key, record.crate);
      }
    } finally {
      index.close();
    }
    // Newest first.
    const ends = transfers.recent.map((record) => record.at);
    expect(ends).toEqual([...ends].sort((x, y) => y - x));
  }, 180_000);

  test("an upload whose object the remote has already (the HEAD finds it) is not a transfer", async () => {
    const [key, crate] = [...uploadedKeys].find(([, name]) => name === "fixture_core")!;
    queueUpload(a.cacheDir, { key, crate, remote: settingsOf(a).remote, fingerprint: null });
    const conn = await rawConnect(daemonPaths(a.cacheDir).socket);
    conn.write(`{"v":1,"id":3,"type":"upload","key":"${key}","crate":"${crate}"}\n`);
    expect(await conn.next()).toMatchObject({ ok: true, type: "upload", queued: true });
    conn.end();
    await waitForUploads(a);
    const transfers = await transfersOf(a);
    expect(transfers.recent.length).toBe(PATH_WS_UNITS.length);
    expect(transfers).toMatchObject({ inFlight: [], queued: 0, uploadsDone: PATH_WS_UNITS.length });
  }, 60_000);

  test("B, with an empty cache, builds from the remote: every entry's download is listed", async () => {
    await b.startDaemon();
    const built = await b.build();
    expect(built.code).toBe(0);
    const transfers = await transfersOf(b);
    const downloads = transfers.recent.filter((record) => record.direction === "download");
    expect(downloads.map((record) => record.crate).sort()).toEqual(PATH_WS_UNITS);
    expect(new Map(downloads.map((record) => [record.key, record.crate]))).toEqual(uploadedKeys);
    for (const record of downloads) {
      expect(record).toMatchObject({ ok: true, remote: bucket });
      expect(["remote-check", "prefetch"]).toContain(record.cause);
      expect(record.bytes).toBe(objectSize(b, record));
    }
    // What B got from the remote it does not send back.
    expect(transfers.recent.filter((record) => record.direction === "upload")).toEqual([]);
    expect(transfers).toMatchObject({ inFlight: [], uploadsDone: 0, downloadsDone: PATH_WS_UNITS.length });
  }, 180_000);

  test("on the wire: one line with ok, type and the transfers object, nothing more", async () => {
    const conn = await rawConnect(daemonPaths(b.cacheDir).socket);
    conn.write('{"v":1,"id":7,"type":"transfers"}\n');
    const reply = await conn.next();
    conn.end();
    expect(Object.keys(reply).sort()).toEqual(["id", "ok", "transfers", "type", "v"]);
    expect(reply).toMatchObject({ v: 1, id: 7, ok: true, type: "transfers" });
    const transfers = reply.transfers as Record<string, unknown>;
    expect(Object.keys(transfers).sort()).toEqual([
      "downloadsDone",
      "inFlight",
      "queued",
      "recent",
      "uploadsDone",
    ]);
    const recent = transfers.recent as Record<string, unknown>[];
    expect(recent.length).toBe(PATH_WS_UNITS.length);
    expect(Object.keys(recent[0]!).sort()).toEqual(RECORD_FIELDS);
    expect(recent[0]).toMatchObject({ direction: "download", ok: true });
    expect(typeof recent[0]!.key).toBe("string");
  });

  test("a damaged object in the remote: its download is listed as failed, with a one-line error", async () => {
    const c = machine("C", "path-ws", "c", env);
    const [key] = [...uploadedKeys].find(([, name]) => name === "fixture_core")!;
    const path = join(bucket, entryObjectKey(settingsOf(c).remote, "fixture_core", key));
    const whole = readFileSync(path);
    chmodSync(path, 0o644);
    writeFileSync(path, whole.subarray(0, whole.length >> 1));
    await c.startDaemon();
    const built = await c.build();
    expect(built.code).toBe(0);
    await waitForUploads(c);
    const transfers = await transfersOf(c);
    const failed = transfers.recent.filter((record) => !record.ok);
    // Once, or (seen once in 22 runs) twice: a remote check already past its "remembered miss" test
    // when the prefetch's attempt failed tries again. Each attempt is a transfer of its own.
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.length).toBeLessThanOrEqual(2);
    for (const record of failed) {
      expect([record.direction, record.crate, record.key]).toEqual(["download", "fixture_core", key]);
      expect(Object.keys(record).sort()).toEqual([...RECORD_FIELDS, "error"].sort());
      expect(record.error!.length).toBeGreaterThan(0);
      expect(record.error!.length).toBeLessThanOrEqual(200);
      expect(record.error).not.toContain("\n");
      expect(record.bytes).toBeLessThanOrEqual(whole.length >> 1);
    }
    const fetched = transfers.recent.filter((record) => record.ok && record.direction === "download");
    expect(fetched.every((record) => uploadedKeys.has(record.key))).toBe(true);
    expect(transfers.downloadsDone).toBe(fetched.length);
    // What C compiled afresh goes up, unless the remote has its key. The rebuilt fixture_core's key
    // is the damaged object's own: fetched again whole and rejected the same way, the object is
    // replaced. (Its dependents may get new keys.)
    const sent = transfers.recent.filter((record) => record.direction === "upload");
    expect(sent.filter((record) => record.crate === "fixture_core").map((record) => record.key)).toEqual([
      key,
    ]);
    for (const record of sent) {
      expect(record.ok).toBe(true);
      expect(uploadedKeys.has(record.key)).toBe(record.key === key);
      expect(record.bytes).toBe(objectSize(c, record));
    }
    expect(readFileSync(path).length).toBeGreaterThan(whole.length >> 1); // no longer the cut-off half
    expect(transfers.uploadsDone).toBe(sent.length);
  }, 180_000);
});

describe("no daemon to ask", () => {
  test("no daemon: null, at once, and none is started", async () => {
    const cacheDir = newCacheDir();
    const settings = loadSettings({ env: { ...process.env, KACHE_CACHE_DIR: cacheDir } }).settings;
    const started = performance.now();
    expect(await daemonTransfers(settings)).toBeNull();
    expect(performance.now() - started).toBeLessThan(200);
    expect(await daemonTransfers(settings)).toBeNull();
    expect(existsSync(daemonPaths(cacheDir).socket)).toBe(false);
    expect(daemonPids(cacheDir)).toEqual([]);
  });

  test("a socket that accepts and never answers (a hung daemon): null within the short timeout", async () => {
    const cacheDir = newCacheDir();
    const settings = loadSettings({ env: { ...process.env, KACHE_CACHE_DIR: cacheDir } }).settings;
    const listener = Bun.listen({ unix: daemonPaths(cacheDir).socket, socket: { data() {} } });
    try {
      const started = performance.now();
      expect(await daemonTransfers(settings)).toBeNull();
      const ms = performance.now() - started;
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(1500);
    } finally {
      listener.stop(true);
    }
  });
});
