// "Fresh machine, warm bucket" by CPU: the workload is built once and pushed to an s3rver, then
// fresh-machine builds alternate between two kache binaries (old and new), each printing its wall
// time, the CPU of its daemon, of cargo with its wrappers and rustc, and of s3rver. Each timed build
// starts on a quiet machine (settle.ts), as in `npm run bench`.
// Usage: bun bench/remote-warm-cpu.ts OLD_BIN NEW_BIN [ROUNDS]   (KACHE_CPU_PROFILE_DIR=DIR profiles the
// daemons; KACHE_BENCH_LATENCY_MS=N puts N ms of latency before every S3 request)

import { Database } from "bun:sqlite";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { kacheMode } from "./modes";
import { startS3rver } from "./remote-warm";
import type { KacheEvent } from "./scenarios";
import { settle } from "./settle";
import { copyWorkload } from "./setup";

const TICKS_PER_SECOND = 100;

/** utime + stime of a live process, in seconds. */
function processCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * Waits for the stores that outlive their wrapper (the misses') to finish: one that ends after the
 * daemon stopped starts a new daemon, which would outlive the machine's dir.
 */
async function storesFinished(cacheDir: string): Promise<void> {
  const pending = join(cacheDir, "pending");
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await Bun.sleep(50))
    if (!existsSync(pending) || readdirSync(pending).length === 0) return;
}

/** Waits for the daemon this script started to exit; kills it after 10 s (it must not outlive its dir). */
async function stopped(pid: number): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await Bun.sleep(50))
    if (!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ")) return;
  console.log(`daemon ${pid} still running 10 s after stop: killed`);
  process.kill(pid, "SIGKILL");
}

function run(command: string[], env: Record<string, string>, cwd?: string) {
  const started = performance.now();
  const result = Bun.spawnSync(command, { env, cwd, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} failed: ${result.stderr.toString()}`);
  const cpu = result.resourceUsage.cpuTime;
  return { ms: performance.now() - started, cpu: Number(cpu.user + cpu.system) / 1e6 };
}

function events(cacheDir: string): KacheEvent[] {
  return readFileSync(join(cacheDir, "events.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as KacheEvent);
}

interface Build {
  binary: string;
  seconds: number;
  daemonCpu: number;
  /** The daemon's CPU once started, before the build sends it anything. */
  daemonStartCpu: number;
  cargoCpu: number;
  s3Cpu: number;
  remoteHits: number;
  prefetchHits: number;
  misses: number;
  prepasses: number;
  store: StoreUse;
  /** The longest gaps between the daemon's heartbeats (every 100 ms when its thread is free), ms. */
  heartbeatGaps: number[];
}

interface StoreUse {
  entries: number;
  megabytes: number;
  /** Of them, the entries this build restored. */
  used: number;
  usedMegabytes: number;
}

/** What the fresh machine's store holds after its build, and how much of it the build used. */
function storeUse(cacheDir: string): StoreUse {
  const db = new Database(join(cacheDir, "index.db"), { readonly: true });
  try {
    const row = db
      .query(
        "SELECT count(*) AS entries, coalesce(sum(size), 0) AS bytes, coalesce(sum(hits > 0), 0) AS used, " +
          "coalesce(sum(CASE WHEN hits > 0 THEN size ELSE 0 END), 0) AS usedBytes FROM entries",
      )
      .get() as { entries: number; bytes: number; used: number; usedBytes: number };
    return {
      entries: row.entries,
      megabytes: row.bytes / 1e6,
      used: row.used,
      usedMegabytes: row.usedBytes / 1e6,
    };
  } finally {
    db.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function show(build: Build): string {
  return (
    `${build.binary.padEnd(4)} ${build.seconds.toFixed(2)} s  daemon ${build.daemonCpu.toFixed(2)} cpu-s (start ${build.daemonStartCpu.toFixed(2)})  ` +
    `cargo+wrappers ${build.cargoCpu.toFixed(2)}  s3rver ${build.s3Cpu.toFixed(2)}  ` +
    `remote hits ${build.remoteHits}  prefetch hits ${build.prefetchHits}  misses ${build.misses}  pre-passes ${build.prepasses}  ` +
    `store ${build.store.entries} entries ${build.store.megabytes.toFixed(1)} MB, used ${build.store.used} (${build.store.usedMegabytes.toFixed(1)} MB)  ` +
    `heartbeat gaps ${build.heartbeatGaps.join(", ")} ms`
  );
}

/**
 * With KACHE_BENCH_SEED_EDITS=N, the seed also builds N edits of the big member before going back
 * to the checkout's sources, as a team's bucket holds several versions of each workspace member.
 */
function seedEdits(seed: { workspace: string; env: Record<string, string> }, edits: number): void {
  if (edits <= 0) return;
  const file = join(seed.workspace, "ledger", "src", "account.rs");
  const original = readFileSync(file, "utf8");
  for (let edit = 1; edit <= edits; edit++) {
    appendFileSync(file, `\npub fn seed_edit_${edit}() -> u32 { ${edit} }\n`);
    run(["cargo", "build"], seed.env, seed.workspace);
  }
  writeFileSync(file, original);
  run(["cargo", "build"], seed.env, seed.workspace);
  console.log(`the seed built ${edits} edits of ledger/src/account.rs, then its own sources again`);
}

/** With KACHE_BENCH_SEED_CHECK=1 the seed also runs `cargo check`, as a team's bucket holds check entries too. */
function seedCheck(seed: { workspace: string; env: Record<string, string> }): void {
  if (process.env.KACHE_BENCH_SEED_CHECK !== "1") return;
  run(["cargo", "check"], seed.env, seed.workspace);
  console.log("the seed also ran cargo check");
}

/** Runs one of bench's helper scripts in its own process; resolves with its first line of output. */
async function startHelper(script: string, args: string[]) {
  const child = Bun.spawn(["bun", join(import.meta.dir, script), ...args], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  return { child, reader, first: new TextDecoder().decode(value).trim().split("\n")[0]! };
}

/** Starts bench/heartbeat-gaps.ts on the daemon's heartbeat file; stop() gives the longest gaps. */
async function watchHeartbeat(cacheDir: string): Promise<{ stop(): Promise<number[]> }> {
  const { child, reader } = await startHelper("heartbeat-gaps.ts", [join(cacheDir, "daemon.heartbeat")]);
  return {
    async stop() {
      child.kill("SIGTERM");
      let text = "";
      for (let next = await reader.read(); !next.done; next = await reader.read())
        text += new TextDecoder().decode(next.value);
      await child.exited;
      return (JSON.parse(text.trim()) as { longest: number[] }).longest;
    },
  };
}

/** With KACHE_BENCH_LATENCY_MS, a proxy (its own process) that delays each request that long. */
async function latencyProxy(upstream: string): Promise<{ endpoint: string; child: Subprocess } | null> {
  const delay = process.env.KACHE_BENCH_LATENCY_MS;
  if (!delay) return null;
  const { child, reader, first: endpoint } = await startHelper("latency-proxy.ts", [upstream, delay]);
  reader.releaseLock();
  console.log(`every S3 request delayed ${delay} ms (${endpoint})`);
  return { endpoint, child };
}

async function main(): Promise<void> {
  const [oldBin, newBin, roundsText] = process.argv.slice(2);
  if (!oldBin || !newBin) throw new Error("usage: bun bench/remote-warm-cpu.ts OLD_BIN NEW_BIN [ROUNDS]");
  const binaries = { old: resolve(oldBin), new: resolve(newBin) };
  const rounds = Number(roundsText ?? 3);
  const repository = resolve(import.meta.dir, "..");
  const work = mkdtempSync(join(tmpdir(), "kache-remote-cpu-"));
  const bucket = "kache-bench";
  mkdirSync(join(work, "s3"));
  const server = await startS3rver(repository, join(work, "s3"), bucket);
  const latency = await latencyProxy(server.endpoint);
  try {
    const remoteEnv = {
      KACHE_S3_BUCKET: bucket,
      KACHE_S3_ENDPOINT: latency?.endpoint ?? server.endpoint,
      KACHE_S3_ACCESS_KEY: "S3RVER",
      KACHE_S3_SECRET_KEY: "S3RVER",
    };
    // The bucket is filled once, by the new binary (the archive format is the same for both).
    const seed = kacheMode(
      copyWorkload(repository, join(work, "seed")),
      join(work, "seed-cache"),
      binaries.new,
    );
    seed.resetCache();
    run(["cargo", "build"], seed.env, seed.workspace);
    seedEdits(seed, Number(process.env.KACHE_BENCH_SEED_EDITS ?? 0));
    seedCheck(seed);
    await storesFinished(join(work, "seed-cache"));
    run([binaries.new, "sync", "--push"], { ...seed.env, ...remoteEnv }, seed.workspace);
    const builds: Build[] = [];
    const localWarm: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // The target's other side: the seed machine rebuilds from its own cache (`rm -rf target`).
      rmSync(join(seed.workspace, "target"), { recursive: true, force: true });
      await settle();
      const warm = run(["cargo", "build"], seed.env, seed.workspace);
      localWarm.push(warm.ms / 1000);
      console.log(
        `local warm rebuild (new) ${localWarm.at(-1)!.toFixed(2)} s, cargo+wrappers ${warm.cpu.toFixed(2)} cpu-s`,
      );
      for (const name of round % 2 ? (["new", "old"] as const) : (["old", "new"] as const)) {
        const binary = binaries[name];
        const machine = join(work, `fresh-${round}-${name}`);
        const workspace = copyWorkload(repository, join(machine, "src", "checkout"));
        const cacheDir = join(machine, "cache");
        mkdirSync(cacheDir, { recursive: true });
        const env: Record<string, string> = {
          ...seed.env,
          ...remoteEnv,
          RUSTC_WRAPPER: binary,
          KACHE_CACHE_DIR: cacheDir,
        };
        const profileDir = process.env.KACHE_CPU_PROFILE_DIR;
        const daemonEnv = profileDir
          ? {
              ...env,
              BUN_OPTIONS: `--cpu-prof --cpu-prof-interval=100 --cpu-prof-dir=${join(profileDir, `${round}-${name}`)}`,
            }
          : env;
        run([binary, "daemon", "start"], daemonEnv);
        const daemonPid = Number(readFileSync(join(cacheDir, "daemon.lock"), "utf8"));
        await settle();
        const daemonStartCpu = processCpu(daemonPid);
        const s3Before = processCpu(server.child.pid);
        const heartbeat = await watchHeartbeat(cacheDir);
        try {
          const build = run(["cargo", "build"], env, workspace);
          const heartbeatGaps = await heartbeat.stop();
          const units = events(cacheDir).filter((event) => event.crate);
          const count = (outcome: string) => units.filter((event) => event.outcome === outcome).length;
          const result: Build = {
            binary: name,
            seconds: build.ms / 1000,
            daemonCpu: processCpu(daemonPid),
            daemonStartCpu,
            cargoCpu: build.cpu,
            s3Cpu: processCpu(server.child.pid) - s3Before,
            remoteHits: count("remote hit"),
            prefetchHits: count("prefetch hit"),
            misses: count("miss"),
            prepasses: units.filter((event) => event.prepass && event.outcome !== "passthrough").length,
            store: storeUse(cacheDir),
            heartbeatGaps,
          };
          builds.push(result);
          console.log(show(result));
        } finally {
          await storesFinished(cacheDir);
          run([binary, "daemon", "stop"], env);
          await stopped(daemonPid);
          rmSync(machine, { recursive: true, force: true });
        }
      }
    }
    const seedLock = join(work, "seed-cache", "daemon.lock");
    const seedPid = existsSync(seedLock) ? Number(readFileSync(seedLock, "utf8")) : null;
    run([binaries.new, "daemon", "stop"], seed.env);
    if (seedPid) await stopped(seedPid);
    console.log(`median local warm rebuild: ${median(localWarm).toFixed(2)} s`);
    for (const name of ["old", "new"] as const) {
      const mine = builds.filter((build) => build.binary === name);
      const of = (pick: (build: Build) => number) => median(mine.map(pick)).toFixed(2);
      console.log(
        `median ${name}: ${of((build) => build.seconds)} s, daemon ${of((build) => build.daemonCpu)} cpu-s, ` +
          `cargo+wrappers ${of((build) => build.cargoCpu)}, s3rver ${of((build) => build.s3Cpu)} (${mine.length} builds), ` +
          `${(median(mine.map((build) => build.seconds)) / median(localWarm)).toFixed(2)}x the local warm rebuild, ` +
          `longest heartbeat gap ${of((build) => build.heartbeatGaps[0] ?? 0)} ms`,
      );
    }
  } finally {
    latency?.child.kill();
    server.child.kill();
    await server.child.exited;
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
