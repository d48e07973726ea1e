// "Fresh machine, warm bucket": the kache mode's store is pushed to a real S3 server (s3rver on
// 127.0.0.1), then a fresh checkout at another path with an empty cache and its own daemon builds
// from the bucket alone. Measured: its build time, its misses and pre-passes, and the throughput of
// the push and of the downloads.

import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { scanStore } from "../src/store/store-scan";
import { s3rverCommand } from "../tests/support/s3rver-command";
import type { Mode } from "./modes";
import { measurePageCost, type PageCost } from "./page-cost";
import { type RemoteEditFigures, remoteEditLoop } from "./remote-edit";
import type { KacheEvent } from "./scenarios";
import { copyWorkload } from "./setup";

export interface RemoteWarmFigures {
  /** Seconds per build from the warm bucket. */
  seconds: number[];
  misses: number[];
  prepasses: number[];
  remoteHits: number[];
  pushBytes: number;
  pushMs: number;
  /** Archive bytes of the remote hits, and the time their wrappers waited on the daemon, over every build. */
  downloadBytes: number;
  downloadMs: number;
  /** The check edit loop on the last fresh machine, its daemon and remote still configured. */
  edit: RemoteEditFigures | null;
  /** Bytes the last fresh machine's store holds after its build. */
  storeBytes: number;
  /** What writing that many bytes of new files costs this machine, measured after the builds. */
  pageCost: PageCost | null;
}

const repeats = 3;

function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

export async function startS3rver(
  repository: string,
  dir: string,
  bucket: string,
): Promise<{ endpoint: string; child: Subprocess }> {
  const port = freePort();
  const child = Bun.spawn(s3rverCommand(repository, dir, port, bucket), {
    stdout: "ignore",
    stderr: "ignore",
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await (await fetch(endpoint, { signal: AbortSignal.timeout(500) })).arrayBuffer();
      return { endpoint, child };
    } catch {
      if (Date.now() > deadline) throw new Error("s3rver did not start");
      await Bun.sleep(50);
    }
  }
}

function run(command: string[], env: Record<string, string>, cwd?: string): { ms: number; stdout: string } {
  const started = performance.now();
  const result = Bun.spawnSync(command, { env, cwd, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} failed: ${result.stderr.toString()}`);
  return { ms: performance.now() - started, stdout: result.stdout.toString() };
}

function events(cacheDir: string): (KacheEvent & { key?: string })[] {
  try {
    return readFileSync(join(cacheDir, "events.jsonl"), "utf8")
      .split("\n")
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as KacheEvent);
  } catch {
    return [];
  }
}

/** Bytes of each entry object in s3rver's storage, by cache key. */
function objectSizes(s3Dir: string): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const name of readdirSync(s3Dir, { recursive: true }) as string[]) {
    const match = /([0-9a-f]{64})\.tar\.zst\._S3rver_object$/.exec(name);
    if (match) sizes.set(match[1]!, statSync(join(s3Dir, name)).size);
  }
  return sizes;
}

export async function measureRemoteWarm(
  none: Mode,
  kache: Mode,
  kacheBin: string,
  repository: string,
  workDirectory: string,
): Promise<RemoteWarmFigures> {
  const bucket = "kache-bench";
  const s3Dir = join(workDirectory, "s3");
  mkdirSync(s3Dir, { recursive: true });
  const server = await startS3rver(repository, s3Dir, bucket);
  try {
    const remoteEnv = {
      KACHE_S3_BUCKET: bucket,
      KACHE_S3_ENDPOINT: server.endpoint,
      KACHE_S3_ACCESS_KEY: "S3RVER",
      KACHE_S3_SECRET_KEY: "S3RVER",
    };
    const push = run([kacheBin, "sync", "--push"], { ...kache.env, ...remoteEnv }, kache.workspace);
    const sizes = objectSizes(s3Dir);
    const pushBytes = [...sizes.values()].reduce((sum, size) => sum + size, 0);
    const figures: RemoteWarmFigures = {
      seconds: [],
      misses: [],
      prepasses: [],
      remoteHits: [],
      pushBytes,
      pushMs: push.ms,
      downloadBytes: 0,
      downloadMs: 0,
      edit: null,
      storeBytes: 0,
      pageCost: null,
    };
    for (let i = 0; i < repeats; i++) {
      // Another machine: its own checkout (at another depth), cache dir and daemon.
      const workspace = copyWorkload(repository, join(workDirectory, `fresh-${i}`, "src", "checkout"));
      const cacheDir = join(workDirectory, `fresh-cache-${i}`);
      mkdirSync(cacheDir, { recursive: true });
      const env = { ...kache.env, ...remoteEnv, KACHE_CACHE_DIR: cacheDir };
      run([kacheBin, "daemon", "start"], env);
      try {
        const build = run(["cargo", "build"], env, workspace);
        figures.seconds.push(build.ms / 1000);
        const units = events(cacheDir).filter((event) => event.crate);
        figures.misses.push(units.filter((event) => event.outcome === "miss").length);
        // A unit that passes through (a build script's probe that fails to compile) is never cached:
        // its pre-pass is not one the bucket could have saved.
        figures.prepasses.push(
          units.filter((event) => event.prepass && event.outcome !== "passthrough").length,
        );
        const hits = units.filter((event) => event.outcome === "remote hit");
        figures.remoteHits.push(hits.length);
        figures.downloadBytes += hits.reduce((sum, event) => sum + (sizes.get(event.key ?? "") ?? 0), 0);
        figures.downloadMs += hits.reduce(
          (sum, event) => sum + ((event.phases as { remote?: number }).remote ?? 0),
          0,
        );
        console.log(
          `  kache    remoteWarm     ${(build.ms / 1000).toFixed(2)} s (${hits.length} remote hits)`,
        );
        if (i === repeats - 1) {
          figures.storeBytes = scanStore(cacheDir).blobBytes;
          figures.edit = await remoteEditLoop(none, workspace, env);
        }
      } finally {
        run([kacheBin, "daemon", "stop"], env);
        rmSync(workspace, { recursive: true, force: true });
      }
    }
    figures.pageCost = await measurePageCost(workDirectory, figures.storeBytes);
    return figures;
  } finally {
    server.child.kill();
    await server.child.exited;
  }
}
