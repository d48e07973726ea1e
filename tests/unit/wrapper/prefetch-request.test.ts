// The wrapper's prefetch requests, to a daemon stand-in on a real Unix socket: one starts the
// session's prefetch, and the first call that says whether the session links tells the daemon once
// more when the call that started it did not say, a call restored from a prefetched entry too.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSettings } from "../../../src/config/load";
import { daemonPaths } from "../../../src/ipc/daemon-paths";
import {
  BUSY_ANSWER_MS,
  forgetUnavailableDaemon,
  remoteCheck,
  startPrefetch,
  tellSessionLinks,
} from "../../../src/wrapper/daemon-hooks";
import { sessionTags } from "../../../src/wrapper/toolchain-tag";

const root = mkdtempSync(join(tmpdir(), "kache-prefetch-request-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const toolchain = sessionTags({
  compiler: ["rustc 1.95.0\nhost: x86_64-unknown-linux-gnu\n"],
  target: ["x86_64-unknown-linux-gnu"],
});

/** The requests of a session whose prefetch a build script's call started and a library's told. */
const STARTED_THEN_TOLD = [
  { links: undefined, onlyTells: undefined },
  { links: true, onlyTells: true },
];

interface Seen {
  links?: boolean;
  onlyTells?: boolean;
}

/** A cache dir with a remote, and a daemon stand-in on its socket that answers its first `answered` requests. */
function standIn(name: string, answered = Number.POSITIVE_INFINITY) {
  const cacheDir = join(root, name);
  const config = join(root, `${name}.toml`);
  writeFileSync(config, "");
  mkdirSync(cacheDir);
  const { settings } = loadSettings({
    env: { KACHE_CACHE_DIR: cacheDir, KACHE_CONFIG: config, KACHE_S3_BUCKET: "b" },
  });
  const requests: Seen[] = [];
  const listener = Bun.listen<undefined>({
    unix: daemonPaths(cacheDir).socket,
    socket: {
      data(client, chunk) {
        const request = JSON.parse(chunk.toString().trim());
        requests.push(request);
        if (requests.length > answered) return;
        client.write(
          `${JSON.stringify({ v: request.v, id: request.id, ok: true, type: "prefetch", queued: true })}\n`,
        );
      },
    },
  });
  return {
    settings,
    seen: () => requests.map(({ links, onlyTells }) => ({ links, onlyTells })),
    stop: () => listener.stop(true),
  };
}

test("a prefetch is asked for once a session, and told once whether the session links", async () => {
  const daemon = standIn("asks");
  try {
    const ask = (links: boolean | null) => startPrefetch(daemon.settings, root, "cargo", toolchain, links);
    expect(await ask(null)).toBe(true); // a build script's call starts it
    expect(await ask(null)).toBe(false);
    expect(await ask(true)).toBe(true); // the first library's call tells
    expect(await ask(true)).toBe(false);
    expect(await ask(false)).toBe(false);
    expect(daemon.seen()).toEqual(STARTED_THEN_TOLD);
  } finally {
    daemon.stop();
  }
});

test("a prefetched call tells a session's prefetch once that it links, and never starts one", async () => {
  const daemon = standIn("tells");
  const project = join(root, "tells-project");
  try {
    const tell = (links: boolean | null) =>
      tellSessionLinks(daemon.settings, project, "cargo", toolchain, links);
    // No prefetch asked for in this session (a build of hits): nothing is sent.
    await tell(true);
    expect(daemon.seen()).toEqual([]);
    expect(await startPrefetch(daemon.settings, project, "cargo", toolchain, null)).toBe(true);
    await tell(null); // a build script's call knows nothing of the session
    await tell(true); // the first library's, restored from a prefetched entry
    await tell(true);
    await tell(false);
    // Told once for the session, whoever tells: a library's miss afterwards asks nothing more.
    expect(await startPrefetch(daemon.settings, project, "cargo", toolchain, true)).toBe(false);
    expect(daemon.seen()).toEqual(STARTED_THEN_TOLD);
  } finally {
    daemon.stop();
  }
});

test("telling a busy daemon waits for its answer no longer than for an idle one", async () => {
  // It answers the request that starts the prefetch, then is too busy to answer anything.
  const daemon = standIn("busy", 1);
  const project = join(root, "busy-project");
  try {
    expect(await startPrefetch(daemon.settings, project, "cargo", toolchain, null)).toBe(true);
    // A fresh heartbeat says it is alive: a prefetch request would wait BUSY_ANSWER_MS for it.
    writeFileSync(daemonPaths(daemon.settings.cacheDir).heartbeat, "");
    const started = performance.now();
    await tellSessionLinks(daemon.settings, project, "cargo", toolchain, true);
    expect(performance.now() - started).toBeLessThan(BUSY_ANSWER_MS / 2);
    expect(daemon.seen()).toEqual(STARTED_THEN_TOLD);
  } finally {
    daemon.stop();
  }
});

test("a daemon that cannot be started costs the call nothing: no crash, no hit", async () => {
  // No daemon on the socket, and the dir the daemon would start in is gone: the spawn fails.
  const cacheDir = join(root, "unstartable");
  mkdirSync(cacheDir);
  const { settings } = loadSettings({ env: { KACHE_CACHE_DIR: cacheDir, KACHE_S3_BUCKET: "b" } });
  forgetUnavailableDaemon(); // the busy stand-in above left this process without a daemon
  try {
    expect(await remoteCheck({ ...settings, configDir: join(root, "gone") }, "0".repeat(64), "x")).toBe(
      false,
    );
    await Bun.sleep(300); // the spawn's failure arrives as an event; unheard, it would end this process
    expect(existsSync(join(cacheDir, "daemon.autostart"))).toBe(true);
  } finally {
    forgetUnavailableDaemon();
  }
});
