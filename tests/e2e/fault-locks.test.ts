// Build locks the kernel releases (SPEC §4 per-key lock): a killed holder never stalls the next
// build, no pid in a leftover file can fake a live holder, and a compile in one worktree never
// makes another worktree (another branch) wait for it.
import { afterAll, afterEach, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { cleanUpDaemons, kache, privateKache, statusJson, track } from "./daemon-support";
import { cleanBuild, cmdline, descendants, killWrapper, plainAppOutput } from "./fault-support";
import {
  cargo,
  copyFixture,
  KACHE_BIN,
  makeTempDir,
  newCacheDir,
  removeTempDirs,
  runBinary,
} from "./harness";

afterEach(cleanUpDaemons);
afterAll(removeTempDirs);

const TIMEOUT = 300_000;

/** Abstract `kache-lock-*` Unix sockets (Linux), inode → name, from /proc/net/unix. */
function lockSockets(): Map<string, string> {
  const sockets = new Map<string, string>();
  for (const line of readFileSync("/proc/net/unix", "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[7]?.startsWith("@kache-lock-")) sockets.set(fields[6]!, fields[7]);
  }
  return sockets;
}

/** The lock sockets a process holds open. */
function heldLocks(pid: number): string[] {
  const sockets = lockSockets();
  const held: string[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && sockets.has(inode)) held.push(sockets.get(inode)!);
    }
  } catch {
    // gone meanwhile
  }
  return held;
}

function crateOf(pid: number): string | undefined {
  const args = cmdline(pid);
  return args[args.indexOf("--crate-name") + 1];
}

test(
  "a wrapper SIGKILLed while it holds its build lock does not stall the next build",
  async () => {
    const workspace = copyFixture("path-ws");
    const cacheDir = newCacheDir();
    let killed: { pid: number; locks: string[] } | null = null;
    let running = true;
    const watcher = (async () => {
      while (running && !killed) {
        for (const pid of descendants(process.pid)) {
          if (cmdline(pid)[0] !== KACHE_BIN || crateOf(pid) !== "fixture_core") continue;
          const locks = heldLocks(pid);
          if (locks.length === 0) continue;
          killWrapper(pid);
          killed = { pid, locks };
        }
        await Bun.sleep(1);
      }
    })();
    const killedBuild = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
    running = false;
    await watcher;
    expect(killed, killedBuild.stderr).not.toBeNull();
    expect(killedBuild.code).not.toBe(0);
    expect(killedBuild.stderr).toContain("SIGKILL");
    // The kernel dropped the dead holder's lock with its process.
    const stillHeld = new Set(lockSockets().values());
    expect(killed!.locks.filter((lock) => stillHeld.has(lock))).toEqual([]);

    const started = performance.now();
    const result = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
    expect(result.code, result.stderr).toBe(0);
    expect(performance.now() - started).toBeLessThan(60_000); // a held lock would make it wait 10 minutes
    expect(result.lines.find((line) => line.crate === "fixture_core")?.outcome).toBe("miss");
    expect(runBinary(join(workspace, "target", "debug", "fixture_app"))).toBe(await plainAppOutput());
  },
  TIMEOUT,
);

test(
  "lock files naming live pids (a cache restored from another machine or container) never make anyone wait",
  async () => {
    const workspace = copyFixture("path-ws");
    // Which lock files a build creates, if any (an older kache kept one per key, named for it).
    const probeCache = newCacheDir();
    const names = new Set<string>();
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const locks = join(probeCache, "locks");
        for (const name of existsSync(locks) ? readdirSync(locks) : []) names.add(name);
        await Bun.sleep(1);
      }
    })();
    await cleanBuild(workspace, probeCache);
    probing = false;
    await probe;

    const cacheDir = newCacheDir();
    mkdirSync(join(cacheDir, "locks"));
    // pid 1 and this test's own pid are alive for the whole test, as a reused pid would be.
    for (const name of names) writeFileSync(join(cacheDir, "locks", name), "1");
    writeFileSync(join(cacheDir, "index.db.repair-lock"), String(process.pid));
    writeFileSync(join(cacheDir, "index.db"), Buffer.alloc(4096, 0x5a)); // needs that repair
    writeFileSync(join(cacheDir, "daemon.lock"), "1");
    const started = performance.now();
    await cleanBuild(workspace, cacheDir);
    expect(performance.now() - started).toBeLessThan(60_000);

    const bin = privateKache();
    track(bin, cacheDir);
    const start = await kache(bin, ["daemon", "start"], cacheDir);
    expect(start.code, start.stderr).toBe(0);
    const status = await statusJson(bin, cacheDir);
    expect(status.running).toBe(true);
    expect(status.pid).not.toBe(1);
  },
  TIMEOUT,
);

/** A `rustc` that, for fixture_core in a workspace whose path contains `blockIn`, waits for `release`. */
function blockingRustc(blockIn: string, release: string, blocked: string): string {
  const dir = makeTempDir("kache-e2e-shim-");
  const real = join(Bun.spawnSync(["rustc", "--print", "sysroot"]).stdout.toString().trim(), "bin", "rustc");
  const script = join(dir, "rustc");
  writeFileSync(
    script,
    `#!/bin/sh
case "$PWD $*" in
  *${blockIn}*"--crate-name fixture_core"*)
    touch "${blocked}"
    while [ ! -e "${release}" ]; do sleep 0.05; done ;;
esac
exec "${real}" "$@"
`,
  );
  chmodSync(script, 0o755);
  return script;
}

test(
  "a crate compiling in one worktree does not make another worktree on another branch wait",
  async () => {
    const signals = makeTempDir("kache-e2e-signals-");
    const release = join(signals, "release");
    const blocked = join(signals, "blocked");
    const rustc = blockingRustc("worktree-a", release, blocked);
    const cacheDir = newCacheDir();
    const a = copyFixture("path-ws", { under: "worktree-a" });
    const b = copyFixture("path-ws", { under: "worktree-b" });
    const util = join(b, "core", "src", "util.rs");
    writeFileSync(util, readFileSync(util, "utf8").replace("util says hi", "util says branch b"));
    const env = { RUSTC: rustc };
    const buildA = cargo(["build", "--locked"], { cwd: a, cacheDir, env });
    try {
      while (!existsSync(blocked)) await Bun.sleep(20);
      // fixture_core of worktree A now holds whatever lock its compile takes, and cannot finish.
      const resultB = await Promise.race([
        cargo(["build", "--locked"], { cwd: b, cacheDir, env }),
        Bun.sleep(120_000).then(() => null),
      ]);
      expect(resultB, "worktree B waited for worktree A's compile").not.toBeNull();
      expect(resultB!.code, resultB!.stderr).toBe(0);
      expect(runBinary(join(b, "target", "debug", "fixture_app"))).toContain("util: util says branch b");
      expect(existsSync(join(a, "target", "debug", "fixture_app"))).toBe(false);
    } finally {
      writeFileSync(release, "");
    }
    const resultA = await buildA;
    expect(resultA.code, resultA.stderr).toBe(0);
    expect(runBinary(join(a, "target", "debug", "fixture_app"))).toBe(await plainAppOutput());
  },
  TIMEOUT,
);
