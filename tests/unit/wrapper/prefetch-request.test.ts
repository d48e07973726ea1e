// The wrapper's prefetch requests, to a daemon stand-in on a real Unix socket: one starts the
// session's prefetch, and the first call that says whether the session links tells the daemon once
// more when the call that started it did not say.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSettings } from "../../../src/config/load";
import { daemonPaths } from "../../../src/ipc/daemon-paths";
import { startPrefetch } from "../../../src/wrapper/daemon-hooks";
import { sessionTags } from "../../../src/wrapper/toolchain-tag";

const root = mkdtempSync(join(tmpdir(), "kache-prefetch-request-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const toolchain = sessionTags({
  compiler: ["rustc 1.95.0\nhost: x86_64-unknown-linux-gnu\n"],
  target: ["x86_64-unknown-linux-gnu"],
});

test("a prefetch is asked for once a session, and told once whether the session links", async () => {
  const cacheDir = join(root, "cache");
  const config = join(root, "config.toml");
  writeFileSync(config, "");
  mkdirSync(cacheDir);
  const { settings } = loadSettings({
    env: { KACHE_CACHE_DIR: cacheDir, KACHE_CONFIG: config, KACHE_S3_BUCKET: "b" },
  });
  const requests: { links?: boolean; onlyTells?: boolean }[] = [];
  const listener = Bun.listen<undefined>({
    unix: daemonPaths(cacheDir).socket,
    socket: {
      data(client, chunk) {
        const request = JSON.parse(chunk.toString().trim());
        requests.push(request);
        client.write(
          `${JSON.stringify({ v: request.v, id: request.id, ok: true, type: "prefetch", queued: true })}\n`,
        );
      },
    },
  });
  try {
    const ask = (links: boolean | null) => startPrefetch(settings, root, "cargo", toolchain, links);
    expect(await ask(null)).toBe(true); // a build script's call starts it
    expect(await ask(null)).toBe(false);
    expect(await ask(true)).toBe(true); // the first library's call tells
    expect(await ask(true)).toBe(false);
    expect(await ask(false)).toBe(false);
    expect(requests.map(({ links, onlyTells }) => ({ links, onlyTells }))).toEqual([
      { links: undefined, onlyTells: undefined },
      { links: true, onlyTells: true },
    ]);
  } finally {
    listener.stop(true);
  }
});
