// The remote cache through a shared directory (SPEC §8 `cache.remote.type = "filesystem"`): what
// one machine builds, another with an empty cache restores, byte for byte, without compiling.

import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadSettings } from "../../src/config/load";
import { callDaemon } from "../../src/ipc/client";
import { daemonPaths } from "../../src/ipc/daemon-paths";
import { markerDue } from "../../src/util/rate-marker";
import { prefetchMarker } from "../../src/wrapper/daemon-hooks";
import { outputKind } from "../../src/wrapper/toolchain-tag";
import { kache, track, waitFor } from "./daemon-support";
import {
  cargo,
  KACHE_BIN,
  makeTempDir,
  PATH_WS_OUTPUT,
  PATH_WS_UNITS,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";
import { cleanUpDaemons, fromRemote, machine, remoteConfig, waitForUploads } from "./remote-support";

afterAll(async () => {
  await cleanUpDaemons();
  removeTempDirs();
});

function objects(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((name) => name.endsWith(".tar.zst"))
    .sort();
}

describe("a filesystem remote shared by two machines", () => {
  const bucket = makeTempDir("kache-e2e-bucket-");
  const env = { KACHE_CONFIG: remoteConfig({ type: "filesystem", path: bucket }) };
  const a = machine("A", "path-ws", "a", env);
  const b = machine("B", "path-ws", "b/deeper/still", env);

  test("A's daemon uploads every entry without a sync", async () => {
    await a.startDaemon();
    const built = await a.build();
    expect(built.code).toBe(0);
    expect(summarise(built.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
    await waitForUploads(a);
    // save-manifest names the keys of this build, for the prefetch of the machines after it.
    const saved = await kache(
      KACHE_BIN,
      ["save-manifest", "--manifest-path", join(a.workspace, "Cargo.toml")],
      a.cacheDir,
      {
        env,
      },
    );
    expect(saved.code).toBe(0);
    expect(saved.stdout).toContain(`saved default: ${PATH_WS_UNITS.length} units`);
    const manifest = JSON.parse(
      readFileSync(join(bucket, "artifacts", ".namespaces", "default.json"), "utf8"),
    );
    expect(manifest.entries.map((entry: { crate: string }) => entry.crate).sort()).toEqual(PATH_WS_UNITS);
    const stored = objects(bucket);
    expect(stored.map((name) => name.split("/").slice(-2, -1)[0]).sort()).toEqual(PATH_WS_UNITS);
    expect(stored.every((name) => name.startsWith("artifacts/"))).toBe(true);
    // Readable by the share's other users: the mode the umask gives new files, not the temp file's 0600.
    const modes = new Set(stored.map((name) => statSync(join(bucket, name)).mode & 0o777));
    expect([...modes]).toEqual([0o666 & ~process.umask()]);
  }, 180_000);

  test("B, with an empty cache, gets every unit from the remote and the same binary", async () => {
    await b.startDaemon();
    const built = await b.build();
    expect(built.code).toBe(0);
    expect(fromRemote(built.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: remote`));
    // The input lists came from the remote too: no dep-info pre-pass on a fresh machine.
    expect(built.events.filter((event) => event.prepass === true)).toEqual([]);
    const app = (root: string) => join(root, "target", "debug", "fixture_app");
    expect(readFileSync(app(b.workspace))).toEqual(readFileSync(app(a.workspace)));
    expect(runBinary(app(b.workspace)).trim().split("\n")).toEqual(PATH_WS_OUTPUT);
  }, 180_000);

  test("sync --pull into a cache dir that does not exist yet (CI's first step) makes it, private", async () => {
    const cacheDir = join(makeTempDir("kache-e2e-ci-"), "cache");
    const pulled = await kache(
      KACHE_BIN,
      ["sync", "--pull", "--manifest-path", join(a.workspace, "Cargo.toml")],
      cacheDir,
      { env },
    );
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stdout).toMatch(/pulled \d+ objects/);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
  }, 60_000);

  test("a prefetch at the start of a session brings the workspace in before rustc asks: prefetch hits", async () => {
    const c = machine("C", "path-ws", "c/prefetched", env);
    await c.startDaemon();
    const { settings } = loadSettings({ env: { ...process.env, ...env, KACHE_CACHE_DIR: c.cacheDir } });
    const answer = await callDaemon(
      daemonPaths(c.cacheDir).socket,
      { type: "prefetch", projectDir: c.workspace, cargo: "cargo", remote: settings.remote },
      { ackTimeoutMs: 2_000 },
    );
    expect(answer).toMatchObject({ ok: true, type: "prefetch", queued: true });
    const log = join(c.cacheDir, "daemon.log");
    const line = await waitFor("the prefetch to finish", () =>
      readFileSync(log, "utf8").match(
        /prefetch for .*: \d+ crates, \d+ input lists, (\d+) entries \((\d+) named by a saved manifest;/,
      ),
    );
    expect(Number(line[1])).toBe(PATH_WS_UNITS.length);
    expect(Number(line[2])).toBe(PATH_WS_UNITS.length); // A saved its manifest
    const built = await c.build();
    expect(summarise(built.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: prefetch hit`));
    expect(built.events.filter((event) => event.prepass === true)).toEqual([]);
    expect(built.stderr).toContain("[kache] fixture_app: prefetch hit");
  }, 180_000);

  test("a build that starts its own daemon gets that daemon's prefetch", async () => {
    // No `kache daemon start`: the first calls find no daemon, one starts it, and a later call asks
    // it for the session's prefetch (the first call's request went nowhere).
    const d = machine("D", "path-ws", "d/autostarted", env);
    track(KACHE_BIN, d.cacheDir);
    const built = await d.build();
    expect(built.code).toBe(0);
    const log = join(d.cacheDir, "daemon.log");
    await waitFor(
      "the build's prefetch",
      () => existsSync(log) && /prefetch for /.test(readFileSync(log, "utf8")),
    );
    expect(
      runBinary(join(d.workspace, "target", "debug", "fixture_app"))
        .trim()
        .split("\n"),
    ).toEqual(PATH_WS_OUTPUT);
  }, 180_000);

  test("cargo run in a member's dir: the prefetch is for the whole workspace", async () => {
    const e = machine("E", "path-ws", "e/member", env);
    await e.startDaemon();
    const built = await cargo(["build", "--locked"], {
      cwd: join(e.workspace, "app"),
      cacheDir: e.cacheDir,
      env,
    });
    expect(built.code).toBe(0);
    const log = join(e.cacheDir, "daemon.log");
    await waitFor("the build's prefetch", () =>
      readFileSync(log, "utf8").includes(`prefetch for ${join(e.workspace, "app")}: `),
    );
  }, 180_000);

  test("an edit on A compiles what it changed at once: no dep-info pre-pass, no wait on the remote", async () => {
    appendFileSync(join(a.workspace, "core", "src", "lib.rs"), "\npub fn edited_on_a() -> u32 { 7 }\n");
    const built = await a.build();
    expect(built.code, built.stderr).toBe(0);
    // The edited member and the binary above it: cargo rebuilds them incrementally where their
    // outputs are. The bucket cannot know these sources yet, and asking it cost every edit a pre-pass.
    const misses = built.events.filter((event) => event.outcome === "miss");
    expect(misses.map((event) => event.crate).sort()).toEqual(["fixture_app", "fixture_core"]);
    for (const event of misses) {
      expect(event.prepass, event.crate).toBe(false);
      expect((event.phases as Record<string, number>).remote, event.crate).toBeUndefined();
    }
    expect(
      runBinary(join(a.workspace, "target", "debug", "fixture_app"))
        .trim()
        .split("\n"),
    ).toEqual(PATH_WS_OUTPUT);
  }, 180_000);
});

function entryRows(cacheDir: string): { key: string; output: string }[] {
  const db = new Database(join(cacheDir, "index.db"), { readonly: true });
  try {
    return db
      .query<{ key: string; components: string }, []>("SELECT key, components FROM entries")
      .all()
      .map((row) => ({ key: row.key, output: outputKind(JSON.parse(row.components)) }));
  } finally {
    db.close();
  }
}

const entryKeys = (cacheDir: string) => entryRows(cacheDir).map((row) => row.key);

describe("a remote shared by two toolchains", () => {
  const bucket = makeTempDir("kache-e2e-bucket-");
  const env = { KACHE_CONFIG: remoteConfig({ type: "filesystem", path: bucket }) };
  const stable = machine("S", "path-ws", "stable", env);
  const nightly = machine("N", "path-ws", "nightly/ws", env);

  test("each upload is marked with its compiler and target", async () => {
    for (const [m, args] of [
      [stable, ["build", "--locked"]],
      [nightly, ["+nightly", "build", "--locked"]],
    ] as const) {
      await m.startDaemon();
      expect((await m.build([...args])).code).toBe(0);
      await waitForUploads(m);
    }
    const markers = (readdirSync(bucket, { recursive: true }) as string[]).filter((name) =>
      /\/toolchains\/[0-9a-f]{16}\.[0-9a-f]{16}\.link\.\d+\/[0-9a-f]{64}$/.test(name),
    );
    expect(markers.length).toBe(2 * PATH_WS_UNITS.length);
    // Two compilers, one target.
    const tags = markers.map((name) => name.split("/").at(-2)!);
    expect(new Set(tags.map((tag) => tag.split(".")[0])).size).toBe(2);
    expect(new Set(tags.map((tag) => tag.split(".")[1])).size).toBe(1);
  }, 300_000);

  test("a stable machine's prefetch pulls stable's entries only, though nightly's are newer", async () => {
    const fresh = machine("F", "path-ws", "fresh/stable", env);
    await fresh.startDaemon();
    const built = await fresh.build();
    expect(built.code).toBe(0);
    expect(fromRemote(built.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: remote`));
    const line = await waitFor("the prefetch to finish", () =>
      readFileSync(join(fresh.cacheDir, "daemon.log"), "utf8").match(
        /prefetch for .*: \d+ crates, \d+ input lists, \d+ entries \(\d+ named by a saved manifest; (\d+) of another compiler or salt left;/,
      ),
    );
    // Nothing nightly built was downloaded: the store holds exactly stable's entries.
    expect(entryKeys(fresh.cacheDir).sort()).toEqual(entryKeys(stable.cacheDir).sort());
    expect(Number(line[1])).toBe(PATH_WS_UNITS.length);
  }, 180_000);

  test("sync --pull takes what the workspace's compiler built; --all takes every toolchain's", async () => {
    const fresh = machine("P", "path-ws", "pulled/stable", env);
    const sync = (args: string[]) =>
      kache(
        KACHE_BIN,
        ["sync", "--pull", ...args, "--manifest-path", join(fresh.workspace, "Cargo.toml")],
        fresh.cacheDir,
        {
          env,
        },
      );
    const pulled = await sync([]);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toContain(
      `leaving ${PATH_WS_UNITS.length} entries another compiler or key salt built (--all pulls them)`,
    );
    expect(entryKeys(fresh.cacheDir).sort()).toEqual(entryKeys(stable.cacheDir).sort());
    const all = await sync(["--all"]);
    expect(all.code).toBe(0);
    expect(all.stdout).not.toContain("leaving");
    expect(entryKeys(fresh.cacheDir).sort()).toEqual(
      [...entryKeys(stable.cacheDir), ...entryKeys(nightly.cacheDir)].sort(),
    );
  }, 180_000);
});

describe("a bucket that holds a build's entries and a check's", () => {
  const bucket = makeTempDir("kache-e2e-bucket-");
  const env = { KACHE_CONFIG: remoteConfig({ type: "filesystem", path: bucket }) };
  const uploader = machine("K", "path-ws", "both", env);
  const checks = () => entryRows(uploader.cacheDir).filter((row) => row.output === "meta");

  test("a session that links leaves the check's entries in the bucket", async () => {
    await uploader.startDaemon();
    for (const command of ["build", "check"])
      expect((await uploader.build([command, "--locked"])).code).toBe(0);
    await waitForUploads(uploader);
    expect(checks().length).toBeGreaterThan(0);

    const fresh = machine("L", "path-ws", "links/here", env);
    await fresh.startDaemon();
    const { settings } = loadSettings({ env: { ...process.env, ...env, KACHE_CACHE_DIR: fresh.cacheDir } });
    const ask = (extra: { links?: boolean; onlyTells?: boolean }) =>
      callDaemon(
        daemonPaths(fresh.cacheDir).socket,
        { type: "prefetch", projectDir: fresh.workspace, cargo: "cargo", remote: settings.remote, ...extra },
        { ackTimeoutMs: 2_000 },
      );
    // A build script's call starts the prefetch; a library's says, while it runs, that the session links.
    expect(await ask({})).toMatchObject({ ok: true, type: "prefetch", queued: true });
    expect(await ask({ links: true, onlyTells: true })).toMatchObject({ ok: true, queued: false });
    const log = join(fresh.cacheDir, "daemon.log");
    const line = await waitFor("the prefetch to finish", () =>
      readFileSync(log, "utf8").match(
        /prefetch for .*: \d+ crates, \d+ input lists, (\d+) entries .*; (\d+) check entries left, as the session links\)/,
      ),
    );
    expect(Number(line[1])).toBe(PATH_WS_UNITS.length);
    expect(Number(line[2])).toBe(checks().length);
    expect(entryRows(fresh.cacheDir).filter((row) => row.output === "meta")).toEqual([]);
    // Told after it finished, the daemon starts no second prefetch (queued: a prefetch started).
    expect(await ask({ links: true, onlyTells: true })).toMatchObject({ ok: true, queued: false });
    const built = await fresh.build();
    // fixture_macros has two linked entries (the check built it for the host as well), and the
    // prefetch takes a member's newest of each output: the build's may come by remote check.
    expect(fromRemote(built.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: remote`));
  }, 300_000);

  test("a check on a fresh machine still gets every unit from the bucket", async () => {
    const fresh = machine("M", "path-ws", "checks/here", env);
    await fresh.startDaemon();
    const checked = await fresh.build(["check", "--locked"]);
    expect(checked.code).toBe(0);
    // A check compiles the proc-macro twice: checked as a member, and built for fixture_core.
    const units = [...PATH_WS_UNITS, "fixture_macros"].sort();
    expect(fromRemote(checked.events)).toEqual(units.map((crate) => `${crate}: remote`));
  }, 180_000);

  test("a build of prefetched entries tells its session's prefetch that it links", async () => {
    const fresh = machine("N", "path-ws", "told/here", env);
    await fresh.startDaemon();
    const { settings } = loadSettings({ env: { ...process.env, ...env, KACHE_CACHE_DIR: fresh.cacheDir } });
    const socket = daemonPaths(fresh.cacheDir).socket;
    // A build script's call started the session's prefetch (its marker, then its request), and the
    // prefetch brought the workspace in before any library's call said the session links.
    markerDue(prefetchMarker(settings, fresh.workspace), 60_000);
    const request = {
      type: "prefetch",
      projectDir: fresh.workspace,
      cargo: "cargo",
      remote: settings.remote,
    } as const;
    expect(await callDaemon(socket, request, { ackTimeoutMs: 2_000 })).toMatchObject({ queued: true });
    await waitFor("the prefetch to finish", () =>
      readFileSync(join(fresh.cacheDir, "daemon.log"), "utf8").includes("prefetch for"),
    );
    expect((await kache(KACHE_BIN, ["daemon", "stop"], fresh.cacheDir, { env })).code).toBe(0);
    // A stand-in on the socket hears what the build's calls say, and answers as an idle daemon.
    const heard: { type: string; links?: boolean; onlyTells?: boolean }[] = [];
    const answers: Record<string, object> = {
      prefetch: { queued: false },
      "remote-check": { result: "miss" },
      manifests: { added: 0 },
      upload: { queued: true },
    };
    const standIn = Bun.listen<undefined>({
      unix: socket,
      socket: {
        data(client, chunk) {
          for (const line of chunk.toString().split("\n").filter(Boolean)) {
            const { v, id, type, links, onlyTells } = JSON.parse(line);
            heard.push({ type, links, onlyTells });
            client.write(`${JSON.stringify({ v, id, ok: true, type, ...answers[type] })}\n`);
          }
        },
      },
    });
    try {
      const built = await fresh.build();
      expect(built.code, built.stderr).toBe(0);
      // The libraries and the binary were restored from prefetched entries: none asked the remote.
      const linking = built.events.filter(
        (event) => !["build_script_build", "fixture_macros"].includes(event.crate!),
      );
      expect(linking.map((event) => `${event.crate}: ${event.outcome}`).sort()).toEqual(
        ["fixture_app", "fixture_core", "fixture_noisy"].map((crate) => `${crate}: prefetch hit`),
      );
      expect(heard.filter((message) => message.type === "prefetch")).toEqual([
        { type: "prefetch", links: true, onlyTells: true },
      ]);
    } finally {
      standIn.stop(true);
    }
  }, 300_000);
});

// Cargo's -C metadata hashes the profile, incremental included: a CARGO_INCREMENTAL=0 build shares
// no member with a dev build. CI keeps cargo's flags and has kache compile without it (strip).
describe("CI's entries, built with KACHE_INCREMENTAL=strip, and a developer's incremental build", () => {
  const bucket = makeTempDir("kache-e2e-bucket-");
  const env = { KACHE_CONFIG: remoteConfig({ type: "filesystem", path: bucket }) };
  const ci = machine("CI", "path-ws", "ci", env);
  const dev = machine("D", "path-ws", "dev/box", env);

  test("each of the developer's calls asks the remote for CI's plain entry too, and restores it", async () => {
    await ci.startDaemon();
    const built = await ci.build(["build", "--locked"], { KACHE_INCREMENTAL: "strip" });
    expect(built.code).toBe(0);
    await waitForUploads(ci);
    await dev.startDaemon();
    // No prefetch this session: each unit comes by its own call's remote check, or not at all.
    const { settings } = loadSettings({ env: { ...process.env, ...env, KACHE_CACHE_DIR: dev.cacheDir } });
    markerDue(prefetchMarker(settings, dev.workspace), 60_000);
    const devBuild = await dev.build();
    expect(devBuild.code).toBe(0);
    expect(summarise(devBuild.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: remote hit`));
    const app = (root: string) => join(root, "target", "debug", "fixture_app");
    expect(readFileSync(app(dev.workspace))).toEqual(readFileSync(app(ci.workspace)));
  }, 180_000);
});
