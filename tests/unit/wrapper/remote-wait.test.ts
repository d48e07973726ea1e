// A wrapper's waits on the remote, against a daemon stand-in on a real Unix socket that acknowledges
// at once and answers late: cache.remote.check_timeout bounds the input lists' and the entry's waits
// together, not each of them.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSettings } from "../../../src/config/load";
import { daemonPaths } from "../../../src/ipc/daemon-paths";
import { fetchManifests, forgetUnavailableDaemon, remoteCheck } from "../../../src/wrapper/daemon-hooks";

const root = mkdtempSync(join(tmpdir(), "kache-remote-wait-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ANSWER_AFTER_MS = 300;

test("the input lists and the entry share one check_timeout", async () => {
  const cacheDir = join(root, "cache");
  mkdirSync(cacheDir);
  const config = join(root, "kache.toml");
  writeFileSync(config, '[cache.remote]\ncheck_timeout = "0.4s"\n');
  const { settings, errors } = loadSettings({
    env: { KACHE_CACHE_DIR: cacheDir, KACHE_CONFIG: config, KACHE_S3_BUCKET: "b" },
  });
  expect(errors).toEqual([]);
  const heard: string[] = [];
  const answers: Record<string, object> = { manifests: { added: 0 }, "remote-check": { result: "hit" } };
  const listener = Bun.listen<undefined>({
    unix: daemonPaths(cacheDir).socket,
    socket: {
      data(client, chunk) {
        const { v, id, type } = JSON.parse(chunk.toString().trim());
        heard.push(type);
        client.write(`${JSON.stringify({ v, id, ok: true, type: "ack" })}\n`);
        setTimeout(() => {
          client.write(`${JSON.stringify({ v, id, ok: true, type, ...answers[type] })}\n`);
        }, ANSWER_AFTER_MS);
      },
    },
  });
  forgetUnavailableDaemon();
  try {
    const started = performance.now();
    expect(await fetchManifests(settings, "f".repeat(64), "app")).toBe(false);
    // 300 ms of the 400 are gone: the hit answered 300 ms later comes after the wrapper stopped waiting.
    expect(await remoteCheck(settings, "k".repeat(64), "app")).toBe(false);
    expect(performance.now() - started).toBeLessThan(2 * ANSWER_AFTER_MS);
    // Nothing left to wait: a later ask sends nothing.
    expect(await remoteCheck(settings, "j".repeat(64), "app")).toBe(false);
    expect(heard).toEqual(["manifests", "remote-check"]);
  } finally {
    listener.stop(true);
  }
});
