// Service install without a service manager (SPEC §7): `kache daemon install` writes the systemd user
// unit, says plainly that systemd is not available and runs the daemon as a background process instead;
// `uninstall` removes the unit; `restart` works with and without it; `log` prints the log's last lines.
import { afterAll, afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { daemonPaths } from "../../src/ipc/daemon-paths";
import {
  cleanUpDaemons,
  daemonPids,
  kache,
  kacheEnv,
  pidAlive,
  privateKache,
  statusJson,
  track,
} from "./daemon-support";
import { makeTempDir, newCacheDir, removeTempDirs } from "./harness";

const TIMEOUT = 120_000;

afterEach(cleanUpDaemons);
afterAll(removeTempDirs);

test(
  "install falls back to a background process; status, restart, uninstall and log",
  async () => {
    const bin = privateKache();
    const cacheDir = newCacheDir();
    track(bin, cacheDir);
    const home = makeTempDir("kache-e2e-home-");
    // A temp HOME and no XDG_CONFIG_HOME: the unit goes to $HOME/.config/systemd/user.
    const env = { HOME: home, XDG_CONFIG_HOME: undefined };
    const run = (args: string[]) => kache(bin, ["daemon", ...args], cacheDir, { env, timeoutMs: 60_000 });
    const unit = join(home, ".config", "systemd", "user", "kache.service");

    // No user systemd here: `systemctl --user` cannot reach a bus.
    const probe = Bun.spawnSync(["systemctl", "--user", "show-environment"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(probe.success).toBe(false);

    const install = await run(["install"]);
    expect(install.stderr).toBe("");
    expect(install.code).toBe(0);
    expect(install.stdout).toMatch(/systemd user session not available \(.+\)/);
    expect(install.stdout).toContain(`wrote ${unit}`);
    expect(install.stdout).toMatch(/started as a background process: pid \d+/);
    expect(existsSync(unit)).toBe(true);
    const unitText = readFileSync(unit, "utf8").split("\n");
    expect(unitText).toContain(`ExecStart=${bin} daemon run`);
    expect(unitText).toContain("Restart=on-failure");
    expect(unitText).toContain(`Environment="KACHE_CACHE_DIR=${cacheDir}"`);

    const installed = await statusJson(bin, cacheDir, env);
    expect(installed).toMatchObject({ running: true, serviceInstalled: true });
    const firstPid = installed.pid!;
    expect(daemonPids(cacheDir)).toEqual([firstPid]);
    expect(install.stdout).toContain(`pid ${firstPid}`);
    const status = await run([]);
    expect(status.stdout).toContain("daemon: running");
    expect(status.stdout).toMatch(/service:\s+installed/);

    // Installed but no manager to restart it: restart says so and restarts the background process.
    const restart = await run(["restart"]);
    expect(restart.code).toBe(0);
    expect(restart.stdout).toContain("not available");
    const secondPid = Number(/restarted: pid (\d+)/.exec(restart.stdout)?.[1]);
    expect(secondPid).not.toBe(firstPid);
    expect(pidAlive(firstPid)).toBe(false);
    expect(daemonPids(cacheDir)).toEqual([secondPid]);

    const uninstall = await run(["uninstall"]);
    expect(uninstall.code).toBe(0);
    expect(uninstall.stdout).toContain(`removed ${unit}`);
    expect(existsSync(unit)).toBe(false);
    expect((await run([])).stdout).toMatch(/service:\s+not installed/);
    expect((await run(["uninstall"])).stdout).toContain("no service installed");

    // No service at all: restart stops and starts the background daemon.
    const again = await run(["restart"]);
    expect(again.code).toBe(0);
    const thirdPid = Number(/restarted: pid (\d+)/.exec(again.stdout)?.[1]);
    expect(thirdPid).not.toBe(secondPid);
    expect(pidAlive(secondPid)).toBe(false);
    expect(daemonPids(cacheDir)).toEqual([thirdPid]);

    // The log: exactly its last 5 lines, and `--no-follow` returns instead of following.
    const log = await run(["log", "--no-follow", "--lines", "5"]);
    expect(log.code).toBe(0);
    const lines = readFileSync(daemonPaths(cacheDir).log, "utf8").trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(5);
    expect(log.stdout).toBe(`${lines.slice(-5).join("\n")}\n`);
    expect(log.stdout).toContain(`started: pid ${thirdPid}`);
  },
  TIMEOUT,
);

test(
  "`kache daemon log` follows new lines until interrupted",
  async () => {
    const bin = privateKache();
    const cacheDir = newCacheDir();
    track(bin, cacheDir);
    expect((await kache(bin, ["daemon", "start"], cacheDir)).code).toBe(0);
    const follower = Bun.spawn([bin, "daemon", "log", "--lines", "10"], {
      env: kacheEnv(cacheDir),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const text = new Response(follower.stdout).text();
    await Bun.sleep(500);
    expect((await kache(bin, ["daemon", "stop"], cacheDir)).code).toBe(0); // logs "stopping" and "stopped"
    await Bun.sleep(800);
    follower.kill("SIGINT");
    expect(await follower.exited).toBe(0);
    const out = await text;
    expect(out).toContain("started: pid");
    expect(out).toContain("stopping: shutdown requested");
  },
  TIMEOUT,
);
