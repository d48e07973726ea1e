// Offline behaviour (SPEC §7): with a remote configured, a wrapper that finds no daemon (or a silent one)
// keeps building locally at full speed, starts at most one daemon in the background, and never hangs.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Socket } from "bun";
import { daemonPaths } from "../../src/ipc/daemon-paths";
import {
  cleanUpDaemons,
  daemonPids,
  kache,
  lockPid,
  median,
  privateKache,
  track,
  waitFor,
} from "./daemon-support";
import { plainAppOutput } from "./fault-support";
import {
  type CargoResult,
  cargo,
  copyFixture,
  FIXTURES_DIR,
  makeTempDir,
  newCacheDir,
  PATH_WS_UNITS,
  readEvents,
  removeTarget,
  removeTempDirs,
  runBinary,
} from "./harness";

const TIMEOUT = 600_000;
const REMOTE = { KACHE_S3_BUCKET: "x" };
/** How long a wrapper waits for a remote check once the daemon acknowledged it (daemon-hooks.ts). */
const REPLY_TIMEOUT_MS = 10_000;

afterEach(cleanUpDaemons);
afterAll(removeTempDirs);

let bin: string;
function kacheBin(): string {
  bin ??= privateKache();
  return bin;
}

async function build(workspace: string, cacheDir: string, env: Record<string, string> = {}) {
  const started = performance.now();
  const result = await cargo(["build", "--locked"], {
    cwd: workspace,
    cacheDir,
    env: { RUSTC_WRAPPER: kacheBin(), ...env },
  });
  if (result.code !== 0) throw new Error(`cargo build failed:\n${result.stderr}`);
  return { ...result, ms: performance.now() - started };
}

async function expectCorrectApp(workspace: string): Promise<void> {
  expect(runBinary(join(workspace, "target", "debug", "fixture_app"))).toBe(await plainAppOutput());
}

/** Starts a daemon and SIGKILLs it: the socket file stays, nobody listens on it. */
async function leaveDeadSocket(cacheDir: string): Promise<void> {
  track(kacheBin(), cacheDir);
  expect((await kache(kacheBin(), ["daemon", "start"], cacheDir)).code).toBe(0);
  const pid = lockPid(cacheDir)!;
  process.kill(pid, "SIGKILL");
  await waitFor("the killed daemon to be reaped", () => !existsSync(`/proc/${pid}`));
  expect(existsSync(daemonPaths(cacheDir).socket)).toBe(true);
}

const startsLogged = (cacheDir: string) =>
  (readFileSync(daemonPaths(cacheDir).log, "utf8").match(/ started: pid /g) ?? []).length;

describe("no daemon listening (killed, stale socket)", () => {
  test(
    "a cold build succeeds and starts exactly one daemon in the background",
    async () => {
      const cacheDir = newCacheDir();
      await leaveDeadSocket(cacheDir);
      const workspace = copyFixture("path-ws");
      const result = await build(workspace, cacheDir, REMOTE);
      expect(result.outcomes.miss).toBe(PATH_WS_UNITS.length);
      await expectCorrectApp(workspace);
      // Every miss found no daemon; the autostart marker lets only one of them spawn `kache daemon start`.
      const [pid] = await waitFor(
        "a daemon started by the wrapper",
        () => daemonPids(cacheDir).length > 0 && daemonPids(cacheDir),
      );
      await Bun.sleep(1000);
      expect(daemonPids(cacheDir)).toEqual([pid!]);
      expect(lockPid(cacheDir)).toBe(pid!);
      expect(startsLogged(cacheDir)).toBe(2); // the killed one, then the wrapper's
    },
    TIMEOUT,
  );

  test(
    "a warm build gives all local hits, correct output, and no hit waits on the missing daemon",
    async () => {
      const cacheDir = newCacheDir();
      const workspace = copyFixture("path-ws");
      await build(workspace, cacheDir); // fills the cache
      await leaveDeadSocket(cacheDir);
      const times: Record<"with" | "without", number[]> = { with: [], without: [] };
      for (let round = 0; round < 2; round++) {
        for (const mode of ["with", "without"] as const) {
          removeTarget(workspace);
          const result = await build(workspace, cacheDir, mode === "with" ? REMOTE : {});
          expect(result.outcomes).toMatchObject({
            "local hit": PATH_WS_UNITS.length,
            miss: 0,
            passthrough: 0,
          });
          await expectCorrectApp(workspace);
          // Counted, not timed: no hit waited on the daemon or ran a pre-pass because of the remote.
          expect(
            result.events.filter((event) => "remote" in (event.phases as object) || event.prepass),
          ).toEqual([]);
          times[mode].push(result.ms);
        }
      }
      const withRemote = Math.min(...times.with);
      const without = Math.min(...times.without);
      console.log(
        `warm path-ws build, no daemon: with KACHE_S3_BUCKET ${times.with.map(Math.round).join("/")} ms, ` +
          `without ${times.without.map(Math.round).join("/")} ms (best ${Math.round(withRemote)} vs ${Math.round(without)})`,
      );
      // "About as fast" is a figure of the benchmark (bench/daemon-fallback.ts): these builds take
      // 150 ms idle and seconds under load. The counts above say no hit asked the daemon; this bound
      // only says none waited out a reply timeout.
      expect(withRemote).toBeLessThan(without + REPLY_TIMEOUT_MS / 2);
      expect(daemonPids(cacheDir).length).toBeLessThanOrEqual(1);
    },
    TIMEOUT,
  );
});

describe("a silent daemon (accepts, never replies)", () => {
  /** Listens on the cache dir's daemon socket, holds every connection open and never writes. */
  function silentServer(cacheDir: string) {
    const held: Socket<undefined>[] = [];
    const server = Bun.listen({
      unix: daemonPaths(cacheDir).socket,
      socket: { open: (s) => void held.push(s), data: () => {} },
    });
    return {
      connections: () => held.length,
      stop: () => server.stop(true),
    };
  }

  test(
    "a cold build completes; each miss's remote check gives up at its answer timeout, not the 10 s reply timeout",
    async () => {
      const cacheDir = newCacheDir();
      track(kacheBin(), cacheDir);
      const server = silentServer(cacheDir);
      let result: CargoResult;
      try {
        const workspace = copyFixture("path-ws");
        result = await build(workspace, cacheDir, REMOTE);
        await expectCorrectApp(workspace);
        expect(server.connections()).toBeGreaterThan(0);
        // Counted, not timed: every miss did ask the daemon.
        expect(server.connections()).toBeGreaterThanOrEqual(PATH_WS_UNITS.length);
      } finally {
        server.stop();
      }
      const misses = result.events.filter((event) => event.outcome === "miss");
      expect(misses.length).toBe(PATH_WS_UNITS.length);
      // With no input list here, each miss first asks the daemon for the remote's lists; once that
      // times out it asks nothing more (no second wait for the remote check).
      const checked = misses.filter((event) => (event.phases as Record<string, number>).remote !== undefined);
      expect(checked.map((event) => event.crate).sort()).toEqual(PATH_WS_UNITS);
      const remote = checked.map((event) => (event.phases as Record<string, number>).remote!);
      console.log(
        `silent daemon: phases.remote per miss (ms): ${remote.join(", ")}; median ${median(remote)}`,
      );
      // How close to its 20 ms answer timeout a check gives up is timing under a loaded build: the
      // benchmark measures it (bench/daemon-fallback.ts). Here only what load cannot fake: it waited for
      // the answer timeout (a timer fires no earlier), and never for the 10 s reply timeout that follows
      // an acknowledgement that never came.
      for (const ms of remote) {
        expect(ms).toBeGreaterThanOrEqual(19);
        expect(ms).toBeLessThan(REPLY_TIMEOUT_MS / 2);
      }
      // A timeout is not "no daemon": nothing may be started to fight over the socket.
      expect(daemonPids(cacheDir)).toEqual([]);
    },
    TIMEOUT,
  );

  test(
    "`kache daemon` reports stopped instead of hanging",
    async () => {
      const cacheDir = newCacheDir();
      track(kacheBin(), cacheDir);
      const server = silentServer(cacheDir);
      try {
        const status = await kache(kacheBin(), ["daemon"], cacheDir, { timeoutMs: 20_000 });
        console.log(`kache daemon with a silent daemon took ${Math.round(status.ms)} ms`);
        expect(status.code).toBe(0);
        expect(status.stdout).toContain("daemon: stopped");
        expect(status.ms).toBeLessThan(5000);
        const json = await kache(kacheBin(), ["daemon", "--json"], cacheDir, { timeoutMs: 20_000 });
        expect(JSON.parse(json.stdout)).toMatchObject({ running: false });
      } finally {
        server.stop();
      }
    },
    TIMEOUT,
  );
});

/**
 * A workspace whose `.kache.toml` names its cache dir and a shared-directory remote, with a
 * registry dependency (Debian's vendored anyhow): cargo runs that crate's compiler calls in the
 * crate's own source dir, where no `.kache.toml` is found walking up.
 */
function workspaceWithRegistryDependency(root: string): string {
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write(
    "ws/Cargo.toml",
    '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nanyhow = "1"\n',
  );
  write("ws/src/main.rs", 'fn main() -> anyhow::Result<()> {\n    println!("42");\n    Ok(())\n}\n');
  write(
    "ws/.cargo/config.toml",
    readFileSync(join(FIXTURES_DIR, "real-crates", ".cargo", "config.toml"), "utf8"),
  );
  write(
    "ws/.kache.toml",
    `[cache]\nlocal_store = "${join(root, "cache")}"\n\n[cache.remote]\ntype = "filesystem"\npath = "${join(root, "remote")}"\n`,
  );
  mkdirSync(join(root, "remote"));
  return join(root, "ws");
}

const archivesIn = (dir: string) =>
  existsSync(dir)
    ? (readdirSync(dir, { recursive: true }) as string[]).filter((name) => name.endsWith(".tar.zst")).length
    : 0;

describe("a daemon a wrapper starts", () => {
  test(
    "serves the build's own .kache.toml, though the wrapper that starts it compiles a registry crate",
    async () => {
      const root = makeTempDir("kache-e2e-autostart-");
      const workspace = workspaceWithRegistryDependency(root);
      const cacheDir = join(root, "cache");
      const defaultCacheDir = join(root, "xdg-cache", "kache");
      track(kacheBin(), cacheDir);
      track(kacheBin(), defaultCacheDir);
      const result = await cargo(["build"], {
        cwd: workspace,
        cacheDir,
        env: {
          RUSTC_WRAPPER: kacheBin(),
          KACHE_CACHE_DIR: undefined,
          XDG_CACHE_HOME: join(root, "xdg-cache"),
        },
      });
      expect(result.code).toBe(0);
      const misses = result.outcomes.miss;
      expect(misses).toBeGreaterThanOrEqual(3); // anyhow's build script, anyhow, app
      // The daemon started for the build's cache dir, and uploads every entry with no `kache sync`.
      await waitFor("a daemon for the build's cache dir", () => daemonPids(cacheDir).length === 1);
      await waitFor(
        "every entry in the shared directory",
        () => archivesIn(join(root, "remote")) === misses,
        20_000,
      );
      // No call of the build used another cache dir: not even anyhow's probe, which its build script
      // runs through the wrapper, in anyhow's source dir.
      expect(existsSync(defaultCacheDir)).toBe(false);
      expect(readEvents(cacheDir).map((event) => event.crate)).toContain("anyhow_build");
    },
    TIMEOUT,
  );
});
