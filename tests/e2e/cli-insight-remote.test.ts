// `kache stats` and `report` on remote transfers: machine A uploads through its daemon to a filesystem
// remote, machine B (empty cache) gets every unit from it; the figures match their events and daemons.
import { afterAll, expect, test } from "bun:test";
import { cleanUpDaemons, kache } from "./daemon-support";
import { KACHE_BIN, makeTempDir, PATH_WS_UNITS, readEvents, removeTempDirs } from "./harness";
import { num } from "./insight-support";
import { machine, queuedUploads, remoteConfig, waitForUploads } from "./remote-support";

afterAll(async () => {
  await cleanUpDaemons();
  removeTempDirs();
});

async function statsOf(cacheDir: string, env: Record<string, string>) {
  const run = await kache(KACHE_BIN, ["stats", "--json"], cacheDir, { env });
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

test("uploads, remote hits and prefetch hits are counted from the events and the daemon", async () => {
  const bucket = makeTempDir("kache-e2e-bucket-");
  const env = { KACHE_CONFIG: remoteConfig({ type: "filesystem", path: bucket }) };
  const a = machine("A", "path-ws", "a", env);
  const b = machine("B", "path-ws", "b/elsewhere", env);
  await a.startDaemon();
  expect((await a.build()).code).toBe(0);
  await waitForUploads(a);
  const uploader = await statsOf(a.cacheDir, env);
  expect(uploader.transfers.uploads_pending).toBe(queuedUploads(a.cacheDir).length);
  expect(uploader.transfers.daemon.uploaded).toBe(PATH_WS_UNITS.length);
  expect(uploader.transfers.daemon.remotes[0].uploaded).toBe(PATH_WS_UNITS.length);
  expect(uploader.misses).toBe(PATH_WS_UNITS.length);

  await b.startDaemon();
  expect((await b.build()).code).toBe(0);
  const events = readEvents(b.cacheDir);
  const of = (outcome: string) => events.filter((event) => event.outcome === outcome);
  const bytes = (list: typeof events) => list.reduce((sum, event) => sum + num(event.size), 0);
  const receiver = await statsOf(b.cacheDir, env);
  const { remote_hits, prefetch_hits, daemon } = receiver.transfers;
  expect(remote_hits).toEqual({ count: of("remote hit").length, bytes: bytes(of("remote hit")) });
  expect(prefetch_hits).toEqual({ count: of("prefetch hit").length, bytes: bytes(of("prefetch hit")) });
  // Which of the two a unit gets is a race between the prefetch and the build; together they are all.
  expect(remote_hits.count + prefetch_hits.count).toBe(PATH_WS_UNITS.length);
  expect(receiver.hits).toMatchObject({ remote: remote_hits.count, prefetch: prefetch_hits.count, local: 0 });
  expect(receiver.misses).toBe(0);
  expect(daemon.downloaded).toBe(PATH_WS_UNITS.length);
  expect(Date.parse(daemon.started_at)).toBeLessThanOrEqual(Date.now());

  const report = await kache(KACHE_BIN, ["report"], b.cacheDir, { env });
  expect(report.code, report.stderr).toBe(0);
  expect(report.stdout).toContain(`${remote_hits.count} remote hits`);
  expect(report.stdout).toContain(`${prefetch_hits.count} prefetch hits`);
  expect(report.stdout).toContain("daemon since");
  expect(report.stdout).toContain(`downloaded ${PATH_WS_UNITS.length}`);
}, 240_000);
