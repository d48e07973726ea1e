// The S3 remote against a real S3 server (s3rver on 127.0.0.1, behind a fault-injecting proxy):
// two machines share a bucket through their daemons with no sync, a fresh machine needs neither a
// compile nor a dep-info pre-pass, and tampered objects, refused writes and a server that goes
// away never break a build or give a wrong artifact.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSettings } from "../../src/config/load";
import { RemoteError } from "../../src/remote/remote";
import { S3Remote } from "../../src/remote/s3-remote";
import { endOfArchive } from "../../src/remote/tar";
import { pullEntry } from "../../src/remote/transfer";
import { BlobStore } from "../../src/store/blobs";
import { IndexDb } from "../../src/store/index-db";
import { member, metadataFor, writeArchive } from "../support/hostile-tar";
import { daemonPids, kache, waitFor } from "./daemon-support";
import {
  KACHE_BIN,
  makeTempDir,
  newCacheDir,
  PATH_WS_OUTPUT,
  PATH_WS_UNITS,
  readEvents,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";
import { cleanUpDaemons, fromRemote, machine, queuedUploads, waitForUploads } from "./remote-support";
import { type S3Server, startS3Server } from "./s3-server";

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await cleanUpDaemons();
  await s3?.close();
  removeTempDirs();
});

const app = (root: string) => join(root, "target", "debug", "fixture_app");
const entryObjects = () => s3.objectKeys().filter((key) => key.endsWith(".tar.zst"));
/** LIST requests the proxy has seen (path-style: `GET /bucket` with the prefix in the query). */
const listings = () => s3.requests.filter((line) => /^GET \/[^/]+\/?$/.test(line)).length;
const daemonLog = (cacheDir: string) => {
  try {
    return readFileSync(join(cacheDir, "daemon.log"), "utf8");
  } catch {
    return "";
  }
};

describe("two machines and one bucket", () => {
  const a = () => machine("A", "path-ws", "a", s3.env);

  test("A builds, its daemon uploads; B builds with zero misses and zero pre-passes", async () => {
    const first = a();
    await first.startDaemon();
    const built = await first.build();
    expect(built.code).toBe(0);
    await waitForUploads(first);
    expect(
      entryObjects()
        .map((key) => key.split("/")[1])
        .sort(),
    ).toEqual(PATH_WS_UNITS);

    // B's daemon lists the bucket once as it starts; its build then asks for no listing at all.
    const second = machine("B", "path-ws", "b/two/levels", s3.env);
    const listed = listings();
    await second.startDaemon();
    await waitFor("B's daemon to list the bucket", () => listings() > listed);
    expect(listings()).toBe(listed + 1);
    const warm = await second.build();
    expect(listings()).toBe(listed + 1);
    expect(warm.code).toBe(0);
    expect(fromRemote(warm.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: remote`));
    expect(warm.events.filter((event) => event.prepass === true).map((event) => event.crate)).toEqual([]);
    expect(readFileSync(app(second.workspace))).toEqual(readFileSync(app(first.workspace)));
    expect(runBinary(app(second.workspace)).trim().split("\n")).toEqual(PATH_WS_OUTPUT);

    // `kache sync`, no daemon: --dry-run moves nothing, --pull brings everything, and a build with
    // the remote switched off is then all local hits.
    const third = machine("C", "path-ws", "c", s3.env);
    const dry = await kache(KACHE_BIN, ["sync", "--pull", "--dry-run"], third.cacheDir, { env: s3.env });
    expect(dry.code).toBe(0);
    for (const crate of PATH_WS_UNITS)
      expect(dry.stdout).toMatch(new RegExp(`^would pull ${crate} [0-9a-f]{12} `, "m"));
    expect(storeFiles(third.cacheDir)).toEqual([]);
    const pulled = await kache(
      KACHE_BIN,
      ["sync", "--pull", "--manifest-path", join(third.workspace, "Cargo.toml")],
      third.cacheDir,
      { env: s3.env },
    );
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toMatch(/pulled \d+ objects/);
    // Again: nothing to move, input lists included (each object's name is its text's hash).
    const again = await kache(
      KACHE_BIN,
      ["sync", "--pull", "--manifest-path", join(third.workspace, "Cargo.toml")],
      third.cacheDir,
      { env: s3.env },
    );
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^pulled 0 objects/m);
    const offline = await third.build(["build", "--locked"], { KACHE_S3_BUCKET: undefined });
    expect(summarise(offline.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
    expect(readFileSync(app(third.workspace))).toEqual(readFileSync(app(first.workspace)));

    // --push uploads what the bucket lacks: units built with the remote off (another salt: new keys).
    rmSync(join(third.workspace, "target"), { recursive: true, force: true });
    const before = entryObjects().length;
    const local = await third.build(["build", "--locked"], {
      KACHE_S3_BUCKET: undefined,
      KACHE_KEY_SALT: "local",
    });
    expect(summarise(local.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
    const dryPush = await kache(KACHE_BIN, ["sync", "--push", "--dry-run"], third.cacheDir, { env: s3.env });
    expect(dryPush.code).toBe(0);
    expect(countWould(dryPush.stdout)).toBe(PATH_WS_UNITS.length);
    expect(entryObjects().length).toBe(before);
    const pushed = await kache(KACHE_BIN, ["sync", "--push"], third.cacheDir, { env: s3.env });
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toContain(`pushed ${PATH_WS_UNITS.length} objects`);
    expect(entryObjects().length).toBe(before + PATH_WS_UNITS.length);
  }, 300_000);
});

function storeFiles(cacheDir: string): string[] {
  try {
    return (readdirSync(join(cacheDir, "store"), { recursive: true }) as string[]).filter(
      (name) => !name.startsWith("."),
    );
  } catch {
    return [];
  }
}

/** s3rver's files of each object (its bytes, their md5, its metadata), to be put back after a test. */
function savedObjects(keys: string[]): Map<string, Buffer> {
  const saved = new Map<string, Buffer>();
  for (const key of keys)
    for (const suffix of ["._S3rver_object", "._S3rver_object.md5", "._S3rver_metadata.json"]) {
      const path = join(s3.dir, s3.bucket, `${key}${suffix}`);
      if (existsSync(path)) saved.set(path, readFileSync(path));
    }
  return saved;
}

function restoreObjects(saved: Map<string, Buffer>): void {
  for (const [path, bytes] of saved) writeFileSync(path, bytes);
}

function countWould(stdout: string): number {
  return stdout.split("\n").filter((line) => /^would push \S+ [0-9a-f]{12} /.test(line)).length;
}

describe("a bucket that cannot be trusted or reached", () => {
  test("a tampered object is rejected, logged and compiled instead, then replaced; the output is right", async () => {
    const owner = machine("T1", "path-ws", "t1", s3.env);
    // Every fixture_core object: whichever key the build asks for has had a byte changed.
    const keys = entryObjects().filter((key) => key.split("/")[1] === "fixture_core");
    const saved = savedObjects(keys);
    for (const file of keys.map((key) => s3.objectFile(key))) {
      const bytes = readFileSync(file);
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      writeFileSync(file, bytes);
    }
    try {
      await owner.startDaemon();
      const built = await owner.build();
      expect(built.code).toBe(0);
      const outcome = Object.fromEntries(built.events.map((event) => [event.crate, event.outcome]));
      expect(outcome.fixture_core).toBe("miss");
      expect(daemonLog(owner.cacheDir)).toContain("rejected fixture_core");
      expect(runBinary(app(owner.workspace)).trim().split("\n")).toEqual(PATH_WS_OUTPUT);
      await waitForUploads(owner);
      // Fetched again whole and rejected the same way, the stored object was damaged: this
      // machine's compile of its key replaced it, so the next machine gets it from the bucket.
      expect(daemonLog(owner.cacheDir)).toMatch(/replaced fixture_core [0-9a-f]{12}, damaged in/);
      const next = machine("T2", "path-ws", "t2", s3.env);
      await next.startDaemon();
      const rebuilt = await next.build();
      expect(fromRemote(rebuilt.events)).toContain("fixture_core: remote");
      expect(runBinary(app(next.workspace)).trim().split("\n")).toEqual(PATH_WS_OUTPUT);
    } finally {
      restoreObjects(saved);
    }
  }, 300_000);

  test("an archive with a symlink member, and a truncated body, are rejected; the build is right", async () => {
    // fixture_noisy's objects become a well-formed archive for the right key whose file is a symlink.
    const noisy = entryObjects().filter((key) => key.split("/")[1] === "fixture_noisy");
    const saved = savedObjects(noisy);
    const remote = new S3Remote(loadSettings({ env: s3.env }).settings.remote);
    const evil = join(makeTempDir("kache-e2e-evil-"), "evil.tar.zst");
    for (const key of noisy) {
      const expected = { key: key.split("/")[2]!.replace(".tar.zst", ""), crate: "fixture_noisy" };
      const link = new TextEncoder().encode("/etc/passwd");
      const metadata = metadataFor(expected, [{ name: "libfixture_noisy.rlib", bytes: new Uint8Array(0) }]);
      writeArchive(evil, [
        ...member("kache.json", new TextEncoder().encode(JSON.stringify(metadata))),
        ...member("f0", link, "2"),
        endOfArchive(),
      ]);
      await remote.upload(key, evil);
    }
    try {
      const m = machine("H", "path-ws", "h", s3.env);
      await m.startDaemon();
      const built = await m.build();
      expect(built.code).toBe(0);
      const outcome = Object.fromEntries(built.events.map((event) => [event.crate, event.outcome]));
      expect(outcome.fixture_noisy).toBe("miss");
      // What does not link fixture_noisy still comes from the bucket. (fixture_app links this
      // machine's own incremental fixture_noisy, whose object names differ from A's: a new key.)
      expect(fromRemote(built.events).filter((line) => /fixture_(core|macros):/.test(line))).toEqual([
        "fixture_core: remote",
        "fixture_macros: remote",
      ]);
      expect(daemonLog(m.cacheDir)).toMatch(/rejected fixture_noisy .*type "2"/);
      expect(runBinary(app(m.workspace)).trim().split("\n")).toEqual(PATH_WS_OUTPUT);
      await waitForUploads(m);

      s3.fault = "truncate-get"; // every object now arrives cut in half, framed as whole
      const cut = machine("H2", "path-ws", "h2", s3.env);
      await cut.startDaemon();
      const again = await cut.build();
      expect(again.code).toBe(0);
      expect(summarise(again.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
      expect(daemonLog(cut.cacheDir)).toMatch(/rejected fixture_core /);
      expect(runBinary(app(cut.workspace)).trim().split("\n")).toEqual(PATH_WS_OUTPUT);
      // Fetched again, every body is short of the listed size: spoiled on its way, never replaced.
      await waitForUploads(cut);
      expect(daemonLog(cut.cacheDir)).not.toContain("replaced");
    } finally {
      s3.fault = "none";
      restoreObjects(saved);
    }
  }, 300_000);

  test("a connection dropped half-way through a download is a transient failure, never a rejected object", async () => {
    const [objectKey] = entryObjects();
    const [, crate, name] = objectKey!.split("/");
    const key = name!.replace(".tar.zst", "");
    const settings = loadSettings({ env: s3.env }).settings.remote;
    const remote = new S3Remote(settings);
    const cacheDir = newCacheDir();
    const stores = { cacheDir, index: IndexDb.open(cacheDir), blobs: new BlobStore(cacheDir) };
    const leftovers = () =>
      (readdirSync(cacheDir, { recursive: true }) as string[]).filter((path) => path.includes(".tmp-"));
    try {
      s3.fault = "cut-get";
      const failure = await pullEntry(remote, settings, crate!, key, stores).catch((error) => error);
      s3.fault = "none";
      // Retried later like any outage; a rejected object would be remembered as a miss instead.
      expect(failure).toBeInstanceOf(RemoteError);
      expect((failure as RemoteError).kind).toBe("transient");
      expect(stores.index.getEntry(key)).toBeNull();
      expect(leftovers()).toEqual([]);
      expect(await pullEntry(remote, settings, crate!, key, stores)).toBeGreaterThan(0);
      expect(stores.index.getEntry(key)).not.toBeNull();
    } finally {
      s3.fault = "none";
      stores.index.close();
    }
  });

  test("a bucket that answers 403 to every PUT: pulls still work, one log line, no retry storm", async () => {
    await cleanUpDaemons(); // only this test's daemon may send PUTs while they are counted
    s3.fault = "forbid-put";
    try {
      const m = machine("F", "path-ws", "f", s3.env);
      await m.startDaemon();
      const pulled = await m.build();
      expect(fromRemote(pulled.events).filter((line) => !line.startsWith("fixture_core"))).toEqual(
        PATH_WS_UNITS.filter((crate) => crate !== "fixture_core").map((crate) => `${crate}: remote`),
      );
      const putsBefore = s3.requests.filter((line) => line.startsWith("PUT")).length;
      rmSync(join(m.workspace, "target"), { recursive: true, force: true });
      const built = await m.build(["build", "--locked"], { KACHE_KEY_SALT: "forbidden" });
      expect(built.code).toBe(0);
      await waitForUploads(m);
      await Bun.sleep(6_000); // a queue pass or more later: nothing is retried
      const puts = s3.requests.filter((line) => line.startsWith("PUT")).length - putsBefore;
      expect(puts).toBeGreaterThan(0);
      expect(puts).toBeLessThanOrEqual(PATH_WS_UNITS.length); // at most one try per entry, never again
      expect(daemonLog(m.cacheDir).match(/refuses writes/g)?.length).toBe(1);
    } finally {
      s3.fault = "none";
    }
  }, 300_000);

  test("wrong credentials (403 to every request, a HEAD's without a body): said once, the queue kept for later", async () => {
    s3.fault = "forbid-all";
    try {
      const m = machine("W", "path-ws", "w", { ...s3.env, KACHE_KEY_SALT: "wrong-credentials" });
      await m.startDaemon();
      const built = await m.build();
      expect(built.code).toBe(0);
      await waitFor(
        "the daemon to try an upload",
        () => /check the credentials/.test(daemonLog(m.cacheDir)),
        30_000,
      );
      await Bun.sleep(2_000);
      const log = daemonLog(m.cacheDir);
      // Not taken for a read-only bucket, whose uploads would be dropped for good.
      expect(log).not.toContain("refuses writes");
      expect(log.match(/check the credentials/g)?.length).toBe(1);
      expect(queuedUploads(m.cacheDir).length).toBe(PATH_WS_UNITS.length);
      s3.fault = "none";
      await waitForUploads(m, 90_000);
    } finally {
      s3.fault = "none";
    }
  }, 300_000);

  test("read-only never sends a PUT", async () => {
    await cleanUpDaemons(); // earlier machines' daemons may still be uploading: their PUTs are not this one's
    const putsBefore = s3.requests.filter((line) => line.startsWith("PUT")).length;
    const m = machine("R", "path-ws", "r", {
      ...s3.env,
      KACHE_REMOTE_READ_ONLY: "1",
      KACHE_KEY_SALT: "read-only",
    });
    await m.startDaemon();
    const built = await m.build();
    expect(built.code).toBe(0);
    expect(queuedUploads(m.cacheDir)).toEqual([]);
    await Bun.sleep(500);
    expect(s3.requests.filter((line) => line.startsWith("PUT")).length).toBe(putsBefore);
  }, 300_000);

  test("the server stops mid-build: the build succeeds at local speed, and its uploads follow once it is back", async () => {
    const m = machine("D", "path-ws", "d", { ...s3.env, KACHE_KEY_SALT: "outage" });
    await m.startDaemon();
    const building = m.build();
    await waitFor("the first unit of the build", () => readEvents(m.cacheDir).length > 0, 60_000);
    await s3.stopServer();
    const built = await building;
    expect(built.code).toBe(0);
    expect(runBinary(app(m.workspace)).trim().split("\n")).toEqual(PATH_WS_OUTPUT);
    // Failures pause the remote: the build waits on it for well under a second in all.
    const waited = built.events.reduce(
      (sum, event) => sum + ((event.phases as Record<string, number>).remote ?? 0),
      0,
    );
    expect(waited).toBeLessThan(3_000);
    await s3.startServer();
    await waitForUploads(m, 90_000);
    const stored = new Set(entryObjects());
    for (const event of built.events)
      expect(stored.has(`artifacts/${event.crate}/${event.key}.tar.zst`)).toBe(true);
    expect(daemonPids(m.cacheDir).length).toBe(1); // the same daemon, never restarted
  }, 300_000);

  test("a bucket that never answers: only the first wrappers wait on it, the status says so, uploads follow its return", async () => {
    s3.fault = "hang";
    try {
      const m = machine("H", "path-ws", "h", { ...s3.env, KACHE_KEY_SALT: "hanging" });
      await m.startDaemon();
      const built = await m.build();
      expect(built.code).toBe(0);
      expect(runBinary(app(m.workspace)).trim().split("\n")).toEqual(PATH_WS_OUTPUT);
      // Each wrapper would wait its whole check_timeout (3 s); only those cargo starts before the
      // daemon sees its requests go unanswered for 2 s do, at most cargo's two jobs.
      const waits = built.events.map((event) => (event.phases as Record<string, number>).remote ?? 0);
      expect(waits.filter((waited) => waited >= 1_000).length).toBeLessThanOrEqual(2);
      expect(built.events.length).toBe(PATH_WS_UNITS.length);
      const status = await kache(KACHE_BIN, ["daemon", "status"], m.cacheDir, { env: m.env });
      expect(status.stdout).toContain("not answering");
      s3.fault = "none";
      await waitForUploads(m, 60_000);
    } finally {
      s3.fault = "none";
    }
  }, 300_000);

  test("a failing bucket is paused, then probed with one request, not with every queued upload", async () => {
    await cleanUpDaemons(); // only this machine's daemon may send requests while they are watched
    s3.fault = "error-500";
    try {
      const m = machine("P", "path-ws", "p", { ...s3.env, KACHE_KEY_SALT: "probed" });
      await m.startDaemon();
      const built = await m.build();
      expect(built.code).toBe(0);
      await waitFor("the pause", () => /then one probe/.test(daemonLog(m.cacheDir)), 60_000);
      await Bun.sleep(1_500); // retries of requests sent before the pause
      const from = s3.requests.length;
      // The pause, then the probe: the first request once the queue or a wrapper asks again.
      await waitFor("the probe", () => s3.requests.length > from, 30_000);
      await Bun.sleep(3_000);
      const during = s3.requests.slice(from);
      expect(during.filter((line) => !line.endsWith("/kache-probe"))).toEqual([]);
      expect(queuedUploads(m.cacheDir).length).toBe(PATH_WS_UNITS.length);
      s3.fault = "none";
      await waitForUploads(m, 60_000);
      expect(daemonLog(m.cacheDir)).toContain("answers again");
    } finally {
      s3.fault = "none";
    }
  }, 300_000);

  test("an upload whose marker PUT failed writes the marker when it is tried again", async () => {
    s3.fault = "fail-marker-put";
    try {
      const m = machine("M", "path-ws", "m", { ...s3.env, KACHE_KEY_SALT: "markers" });
      await m.startDaemon();
      const built = await m.build();
      expect(built.code).toBe(0);
      await waitFor(
        "the archives",
        () =>
          built.events.every((event) =>
            entryObjects().includes(`artifacts/${event.crate}/${event.key}.tar.zst`),
          ),
        60_000,
      );
      s3.fault = "none";
      await waitForUploads(m, 90_000);
      const markers = s3.objectKeys().filter((key) => key.includes("/toolchains/"));
      for (const event of built.events)
        expect(
          markers.some(
            (key) => key.startsWith(`artifacts/${event.crate}/toolchains/`) && key.endsWith(`/${event.key}`),
          ),
        ).toBe(true);
    } finally {
      s3.fault = "none";
    }
  }, 300_000);

  test("a daemon killed with SIGKILL before its queue is done uploads the rest on its next start", async () => {
    const m = machine("K", "path-ws", "k", { ...s3.env, KACHE_KEY_SALT: "killed" });
    await s3.stopServer(); // nothing can upload yet: the whole queue is still there at the kill
    await m.startDaemon();
    const built = await m.build();
    expect(built.code).toBe(0);
    for (const pid of daemonPids(m.cacheDir)) process.kill(pid, "SIGKILL");
    await waitFor("the daemon to die", () => daemonPids(m.cacheDir).length === 0);
    await s3.startServer();
    expect(queuedUploads(m.cacheDir).length).toBe(PATH_WS_UNITS.length);
    await m.startDaemon();
    await waitForUploads(m, 60_000);
  }, 300_000);
});
