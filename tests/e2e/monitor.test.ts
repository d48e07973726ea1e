// `kache monitor` in a real terminal (tmux): the tabs over a real fixture build's events and index,
// a build appearing while it runs, filter and sort keys, the daemon going from offline to online,
// resizes, and the terminal given back on q, Ctrl-C and SIGTERM.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VERSION } from "../../src/version";
import { cleanUpDaemons, kache, kacheEnv, privateKache, track } from "./daemon-support";
import {
  cargo,
  copyFixture,
  makeTempDir,
  newCacheDir,
  PATH_WS_UNITS,
  readEvents,
  removeTempDirs,
} from "./harness";
import { machine, remoteConfig, waitForUploads } from "./remote-support";
import { startTmux, type TmuxSession } from "./tmux-session";

let workspace: string;
let cacheDir: string;
let bin: string;
const sessions: TmuxSession[] = [];

beforeAll(async () => {
  bin = privateKache();
  workspace = copyFixture("path-ws");
  cacheDir = newCacheDir();
  expect((await cargo(["build"], { cwd: workspace, cacheDir })).code).toBe(0);
  // One call kache lets through, with its reason: the app rebuilt with kache switched off.
  appendFileSync(join(workspace, "app", "src", "main.rs"), "\n// edited\n");
  const disabled = await cargo(["build"], { cwd: workspace, cacheDir, env: { KACHE_DISABLED: "1" } });
  expect(disabled.code).toBe(0);
}, 180_000);

afterEach(async () => {
  for (const session of sessions.splice(0)) session.close();
  await cleanUpDaemons();
});
afterAll(removeTempDirs);

function monitorEnv(extra: Record<string, string> = {}, cache = cacheDir): Record<string, string> {
  const env = kacheEnv(cache, { HOME: makeTempDir("kache-e2e-monitor-home-"), ...extra });
  const { NO_COLOR: _noColour, ...rest } = env;
  return { ...rest, ...extra };
}

function openMonitor(env = monitorEnv(), size?: { columns: number; rows: number }): TmuxSession {
  const session = startTmux([bin, "monitor"], env, workspace, size);
  sessions.push(session);
  return session;
}

/** The rows of the table under the header, tab bar, note and column titles. */
function tableRows(screen: string): string[] {
  return screen
    .split("\n")
    .slice(7, -2)
    .filter((line) => line.trim() !== "");
}

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9 };

function sizeOf(row: string): number {
  const match = /\s(\d+(?:\.\d+)?) (B|KB|MB|GB)\s/.exec(row);
  if (!match) throw new Error(`no size in "${row}"`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

test("tabs over a real build: the stream, a build while it runs, filter, store order, pass-throughs, the daemon", async () => {
  const monitor = openMonitor();
  const first = await monitor.waitFor("fixture_core");
  expect(first).toContain("daemon: offline");
  expect(first).toContain("[1 Build]");
  for (const crate of ["fixture_app", "fixture_macros", "fixture_noisy", "build_script_build"])
    expect(first).toContain(crate);
  expect(first).toMatch(/miss\s+fixture_core/);
  expect(first).toMatch(/passthrough\s+fixture_app/);

  // A build started now (everything restored from the store) shows up as it happens.
  rmSync(join(workspace, "target"), { recursive: true, force: true });
  const rebuild = await cargo(["build"], { cwd: workspace, cacheDir });
  expect(rebuild.code).toBe(0);
  const ended = Date.now();
  await monitor.waitFor(/local hit\s+fixture_core/, 2000);
  expect(Date.now() - ended).toBeLessThan(2000);

  monitor.keys("f");
  monitor.type("core");
  monitor.keys("Enter");
  const filtered = await monitor.waitFor('filter "core"');
  expect(tableRows(filtered).length).toBeGreaterThan(0);
  for (const row of tableRows(filtered)) expect(row).toContain("fixture_core");

  monitor.keys("3");
  const byName = await monitor.waitFor("sorted by name");
  const names = tableRows(byName).map((row) => row.split(/\s+/)[0]!);
  expect(names.length).toBeGreaterThanOrEqual(5);
  expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  monitor.keys("s");
  const bySize = await monitor.waitFor("sorted by size");
  const sizes = tableRows(bySize).map(sizeOf);
  expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
  expect(tableRows(bySize).map((row) => row.split(/\s+/)[0])).not.toEqual(names);

  monitor.keys("5");
  const passthrough = await monitor.waitFor("[5 Passthrough]");
  expect(passthrough).toMatch(/disabled\s+.*KACHE_DISABLED is set.*fixture_app/);

  monitor.keys("2");
  expect(await monitor.waitFor(join(workspace, "target"))).toMatch(/\d+%/);

  monitor.keys("4");
  expect(await monitor.waitFor("[4 Transfer]")).toContain("daemon offline");

  track(bin, cacheDir);
  expect((await kache(bin, ["daemon", "start"], cacheDir)).code).toBe(0);
  const online = await monitor.waitFor(`daemon ${VERSION} (`, 3000);
  expect(online).not.toContain("daemon: offline");
  expect(online).toMatch(/pid \d+, up/);
  monitor.keys("q");
  await monitor.waitFor("EXIT=0");
}, 120_000);

/** The screen has exactly `rows` lines, the header on top, the footer at the bottom, blank between. */
function expectWholeFrame(screen: string, rows: number): void {
  const lines = screen.replace(/\n$/, "").split("\n");
  expect(lines.length).toBe(rows);
  expect(lines[0]).toStartWith("kache ");
  expect(lines.at(-1)).toStartWith("q quit");
  const body = lines.slice(7, -1);
  const last = body.findLastIndex((line) => line.trim() !== "");
  // The table, then nothing: no line of an earlier, bigger frame is left over.
  expect(body.slice(last + 1).every((line) => line === "")).toBe(true);
  expect(body.slice(0, last + 1).every((line) => /^\d\d:\d\d:\d\d /.test(line))).toBe(true);
}

test("resizes redraw the whole screen, down to 60x15; smaller says too small", async () => {
  const monitor = openMonitor();
  await monitor.waitFor("fixture_core");
  expectWholeFrame(monitor.screen(), 35);
  for (const [columns, rows] of [
    [80, 24],
    [60, 15],
  ] as const) {
    monitor.resize(columns, rows);
    await Bun.sleep(400);
    const screen = monitor.screen();
    expectWholeFrame(screen, rows);
    expect(screen).toContain("[1 Build]");
  }
  monitor.resize(59, 14);
  expect(await monitor.waitFor("too small")).not.toContain("[1 Build]");
  monitor.resize(120, 35);
  await monitor.waitFor("[1 Build]");
  await Bun.sleep(400);
  expectWholeFrame(monitor.screen(), 35);
  monitor.keys("q");
  await monitor.waitFor("EXIT=0");
}, 60_000);

test("q, Ctrl-C and SIGTERM each exit 0 and leave the normal screen with the cursor shown", async () => {
  for (const way of ["q", "C-c", "SIGTERM"]) {
    const monitor = openMonitor();
    await monitor.waitFor("fixture_core");
    expect(monitor.display("#{alternate_on} #{cursor_flag}")).toBe("1 0");
    if (way === "SIGTERM") process.kill(monitor.commandPid()!, "SIGTERM");
    else monitor.keys(way);
    const after = await monitor.waitFor("EXIT=");
    expect(after).toContain("EXIT=0");
    expect(monitor.display("#{alternate_on} #{cursor_flag}")).toBe("0 1");
    monitor.close();
  }
}, 60_000);

test("NO_COLOR gives a screen without colours or inverse video; a colour terminal gets them", async () => {
  const plain = openMonitor(monitorEnv({ NO_COLOR: "1" }));
  await plain.waitFor("fixture_core");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape sequences
  expect(plain.styledScreen()).not.toMatch(/\x1b\[[0-9;]*m/);
  const coloured = openMonitor();
  await coloured.waitFor("fixture_core");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for inverse video
  expect(coloured.styledScreen()).toMatch(/\x1b\[[0-9;]*7[0-9;]*m/);
}, 60_000);

test("kache monitor away from a terminal says so and exits 1; bare kache prints help there", async () => {
  const monitor = await kache(bin, ["monitor"], cacheDir);
  expect(monitor.code).toBe(1);
  expect(monitor.stderr).toContain("kache monitor needs a terminal");
  const bare = await kache(bin, [], cacheDir);
  expect(bare.code).toBe(0);
  expect(bare.stdout).toContain("monitor");
  const badSince = await kache(bin, ["monitor", "--since", "soon"], cacheDir);
  expect(badSince.code).toBe(2);
});

test("an uncaught error gives the terminal back, says what it was and exits 1", async () => {
  const script = join(makeTempDir("kache-e2e-monitor-crash-"), "crash.ts");
  const terminalModule = join(import.meta.dir, "..", "..", "src", "monitor", "terminal.ts");
  writeFileSync(
    script,
    [
      `import { Terminal } from ${JSON.stringify(terminalModule)};`,
      "const terminal = new Terminal();",
      "terminal.enter(() => {}, () => {}, () => process.exit(0));",
      'terminal.draw(["drawn before the crash"]);',
      'setTimeout(() => { throw new Error("something broke"); }, 300);',
    ].join("\n"),
  );
  const session = startTmux([process.execPath, script], { PATH: process.env.PATH ?? "" }, workspace);
  sessions.push(session);
  await session.waitFor("drawn before the crash");
  expect(session.display("#{alternate_on} #{cursor_flag}")).toBe("1 0");
  const after = await session.waitFor("EXIT=");
  expect(after).toContain("EXIT=1");
  expect(after).toContain("kache: error: the monitor stopped: something broke");
  expect(session.display("#{alternate_on} #{cursor_flag}")).toBe("0 1");
}, 30_000);

test("the Transfer tab lists the daemon's uploads of a build with their sizes and rates, and the header counts them", async () => {
  const bucket = makeTempDir("kache-e2e-monitor-bucket-");
  const env = { KACHE_CONFIG: remoteConfig({ type: "filesystem", path: bucket }) };
  const a = machine("A", "path-ws", "a", env);
  await a.startDaemon();
  const monitor = openMonitor(monitorEnv(env, a.cacheDir));
  await monitor.waitFor(`daemon ${VERSION} (`);
  monitor.keys("4");
  await monitor.waitFor("no transfers since the daemon started");
  expect((await a.build()).code).toBe(0);
  await waitForUploads(a);
  const screen = await monitor.waitFor(`uploaded ${PATH_WS_UNITS.length} `, 5000);
  const uploads = tableRows(screen).filter((row) => row.includes("↑"));
  expect(uploads.map((row) => PATH_WS_UNITS.find((unit) => row.includes(` ${unit} `))).sort()).toEqual(
    PATH_WS_UNITS,
  );
  for (const row of uploads) {
    expect(row).toMatch(/\d(\.\d)? (B|KB|MB)\s/);
    expect(row).toMatch(/\/s\s/);
    expect(row).toContain("upload ");
  }
  expect(screen).toContain("0 uploads queued");
  monitor.keys("q");
  await monitor.waitFor("EXIT=0");
}, 120_000);

test("bare kache on a terminal opens the monitor", async () => {
  const session = startTmux([bin], monitorEnv(), workspace);
  sessions.push(session);
  expect(await session.waitFor("[1 Build]")).toContain("fixture_core");
  session.keys("q");
  expect(await session.waitFor("EXIT=")).toContain("EXIT=0");
}, 30_000);

test("the header flags a daemon from an older build, and says how cargo reaches kache", async () => {
  const older = privateKache();
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(older, past, past);
  track(older, cacheDir);
  expect((await kache(older, ["daemon", "start"], cacheDir)).code).toBe(0);
  const viaEnv = openMonitor(monitorEnv({ RUSTC_WRAPPER: bin }));
  const flagged = await viaEnv.waitFor("older build: `kache daemon restart`");
  expect(flagged).toContain("wrapper: env RUSTC_WRAPPER (this shell only; `kache init` for every build)");
  viaEnv.keys("q");
  await viaEnv.waitFor("EXIT=0");
  // The monitor only watched: the older daemon is still the one running.
  const status = await kache(older, ["daemon", "--json"], cacheDir);
  expect(JSON.parse(status.stdout).epoch).toBe(Math.floor(statSync(older).mtimeMs));

  const home = makeTempDir("kache-e2e-monitor-home-");
  mkdirSync(join(home, ".cargo"));
  writeFileSync(join(home, ".cargo", "config.toml"), `[build]\nrustc-wrapper = "${bin}"\n`);
  const viaConfig = openMonitor({ ...monitorEnv(), HOME: home });
  expect(await viaConfig.waitFor("wrapper: cargo config ~/.cargo/config.toml")).not.toContain("not set up");
}, 60_000);

test("arrows, PgUp/PgDn, Home and End scroll the list; ? shows the keys", async () => {
  // Enough calls for two screens, whichever tests ran before.
  while (readEvents(cacheDir).length < 16) {
    rmSync(join(workspace, "target"), { recursive: true, force: true });
    expect((await cargo(["build"], { cwd: workspace, cacheDir })).code).toBe(0);
  }
  const monitor = openMonitor(monitorEnv(), { columns: 100, rows: 15 });
  const first = await monitor.waitFor(/1-7 of \d+/);
  const total = Number(/1-7 of (\d+)/.exec(first)![1]);
  expect(total).toBeGreaterThan(8);
  const position = (from: number) => `${from}-${from + 6} of ${total}`;
  monitor.keys("Down");
  await monitor.waitFor(position(2));
  monitor.keys("End");
  await monitor.waitFor(position(total - 6));
  monitor.keys("PPage");
  await monitor.waitFor(position(Math.max(1, total - 13)));
  monitor.keys("Home");
  await monitor.waitFor(position(1));
  monitor.keys("NPage");
  await monitor.waitFor(position(Math.min(8, total - 6)));
  monitor.type("?");
  expect(await monitor.waitFor("switch tabs")).toContain("scroll");
  monitor.type("?");
  await monitor.waitFor(/\d\d:\d\d:\d\d /);
  monitor.keys("q");
  await monitor.waitFor("EXIT=0");
}, 30_000);
