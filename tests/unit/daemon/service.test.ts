// Service files checked by real parsers (plistlib, systemd-analyze), and install/uninstall against fake and real managers.
import { afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  detectServiceManager,
  installService,
  isServiceInstalled,
  restartService,
  servicePaths,
  servicePlist,
  serviceUnit,
  uninstallService,
} from "../../../src/daemon/service";

const created: string[] = [];
afterEach(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function makeTempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "kache-service-")));
  created.push(dir);
  return dir;
}

function parsePlist(text: string): Record<string, unknown> {
  const file = join(makeTempDir(), "kache.plist");
  writeFileSync(file, text);
  const script = "import plistlib,sys,json; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))";
  const result = spawnSync("python3", ["-c", script, file], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`plistlib rejected the plist: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** A stand-in for systemctl/launchctl that records its arguments and exits with `exitCode`. */
function fakeTool(name: string, exitCode = 0, stderr = ""): { path: string; calls: () => string[] } {
  const dir = makeTempDir();
  const log = join(dir, "calls.log");
  const script = `#!/bin/sh\necho "$*" >> '${log}'\n${stderr ? `echo '${stderr}' >&2\n` : ""}exit ${exitCode}\n`;
  writeFileSync(join(dir, name), script);
  chmodSync(join(dir, name), 0o755);
  const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
  return { path: `${dir}:/usr/bin:/bin`, calls };
}

describe("systemd unit", () => {
  test("runs the absolute kache path with `daemon run`, restarts on failure, starts with the session", () => {
    const unit = serviceUnit({
      kacheCommand: ["/usr/local/bin/kache"],
      env: { KACHE_CACHE_DIR: "/data/kache", UNSET: undefined },
    });
    const lines = unit.split("\n");
    expect(lines).toContain("ExecStart=/usr/local/bin/kache daemon run");
    expect(lines).toContain("Type=simple");
    expect(lines).toContain("Restart=on-failure");
    expect(lines.filter((line) => line.startsWith("Environment="))).toEqual([
      'Environment="KACHE_CACHE_DIR=/data/kache"',
    ]);
    expect(lines).toContain("WantedBy=default.target");
    expect(lines.indexOf("[Install]")).toBeGreaterThan(lines.indexOf("[Service]"));
  });

  test("a relative command becomes absolute", () => {
    const unit = serviceUnit({ kacheCommand: ["dist/kache"], env: {} });
    expect(unit).toContain(`ExecStart=${join(process.cwd(), "dist/kache")} daemon run\n`);
  });

  test("quotes a path with spaces, % and $ the way systemd parses it", () => {
    const unit = serviceUnit({ kacheCommand: ["/opt/my apps%1$x/kache", "a$b"], env: { A: 'x "y" 5%' } });
    expect(unit).toContain('ExecStart="/opt/my apps%%1$x/kache" "a$$b" daemon run\n');
    expect(unit).toContain('Environment="A=x \\"y\\" 5%%"\n');
  });

  test("systemd-analyze accepts the unit and finds the program", () => {
    const dir = join(makeTempDir(), "my apps & 100% $HOME");
    mkdirSync(dir);
    writeFileSync(join(dir, "kache"), "#!/bin/sh\n");
    chmodSync(join(dir, "kache"), 0o755);
    const unitFile = join(makeTempDir(), "kache.service");
    writeFileSync(
      unitFile,
      serviceUnit({ kacheCommand: [join(dir, "kache")], env: { KACHE_CACHE_DIR: "/a b" } }),
    );
    const result = spawnSync("systemd-analyze", ["verify", unitFile], { encoding: "utf8" });
    expect(`${result.stderr}`.trim()).toBe("");
    expect(result.status).toBe(0);
  });

  test("rejects an environment name systemd cannot carry", () => {
    expect(() => serviceUnit({ kacheCommand: ["/k"], env: { "BAD NAME": "x" } })).toThrow(
      /invalid environment/,
    );
  });
});

describe("launchd plist", () => {
  test("plistlib reads label, arguments, run-at-load, crash-only keep-alive, env and log paths", () => {
    const plist = servicePlist({
      kacheCommand: ["/usr/local/bin/kache"],
      env: { KACHE_CACHE_DIR: "/Users/me/cache" },
      logFile: "/Users/me/Library/Caches/kache/daemon.log",
    });
    expect(parsePlist(plist)).toEqual({
      Label: "ninja.kunobi.kache",
      ProgramArguments: ["/usr/local/bin/kache", "daemon", "run"],
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      EnvironmentVariables: { KACHE_CACHE_DIR: "/Users/me/cache" },
      StandardOutPath: "/Users/me/Library/Caches/kache/daemon.log",
      StandardErrorPath: "/Users/me/Library/Caches/kache/daemon.log",
    });
  });

  test("XML-escapes paths and values with & < > and quotes", () => {
    const odd = "/Users/a&b/<kache> \"'/kache";
    const plist = servicePlist({ kacheCommand: [odd], env: { KACHE_CACHE_DIR: "/c&d<e" } });
    expect(plist).toContain("/Users/a&amp;b/&lt;kache&gt;");
    const parsed = parsePlist(plist);
    expect(parsed.ProgramArguments).toEqual([odd, "daemon", "run"]);
    expect(parsed.EnvironmentVariables).toEqual({ KACHE_CACHE_DIR: "/c&d<e" });
    expect(parsed.StandardOutPath).toBeUndefined();
  });
});

describe("service paths", () => {
  test("systemd under XDG_CONFIG_HOME when absolute, else ~/.config; launchd under LaunchAgents", () => {
    expect(servicePaths("/home/u", {}, "linux")).toEqual({
      kind: "systemd",
      file: "/home/u/.config/systemd/user/kache.service",
    });
    expect(servicePaths("/home/u", { XDG_CONFIG_HOME: "/x/cfg" }, "linux").file).toBe(
      "/x/cfg/systemd/user/kache.service",
    );
    expect(servicePaths("/home/u", { XDG_CONFIG_HOME: "rel" }, "linux").file).toBe(
      "/home/u/.config/systemd/user/kache.service",
    );
    expect(servicePaths("/Users/u", {}, "darwin")).toEqual({
      kind: "launchd",
      file: "/Users/u/Library/LaunchAgents/ninja.kunobi.kache.plist",
    });
  });
});

describe("service manager", () => {
  test("this machine: detection agrees with running systemctl --user ourselves", () => {
    const manager = detectServiceManager();
    const probe = spawnSync("systemctl", ["--user", "show-environment"], { encoding: "utf8", timeout: 5000 });
    expect(manager.kind).toBe(process.platform === "darwin" ? "launchd" : "systemd");
    if (process.platform !== "linux") return;
    // In this sandbox there is no user session, so this asserts usable=false with the bus error as the why.
    expect(manager.usable).toBe(probe.status === 0);
    if (!manager.usable) expect(manager.why).toBeTruthy();
  });

  test("KACHE_SERVICE_MANAGER=none forces not usable", () => {
    const fake = fakeTool("systemctl");
    const manager = detectServiceManager("linux", { PATH: fake.path, KACHE_SERVICE_MANAGER: "none" });
    expect(manager).toEqual({ kind: "systemd", usable: false, why: "KACHE_SERVICE_MANAGER=none" });
    expect(fake.calls()).toEqual([]);
  });

  test("a failing systemctl gives its first error line as the reason", () => {
    const fake = fakeTool("systemctl", 1, "Failed to connect to bus: No medium found");
    const manager = detectServiceManager("linux", { PATH: fake.path });
    expect(manager).toEqual({
      kind: "systemd",
      usable: false,
      why: "Failed to connect to bus: No medium found",
    });
  });

  test("launchd without launchctl is not usable", () => {
    const manager = detectServiceManager("darwin", { PATH: makeTempDir() });
    expect(manager).toEqual({ kind: "launchd", usable: false, why: "launchctl not found on PATH" });
  });
});

describe("install and uninstall", () => {
  const spec = { kacheCommand: ["/usr/local/bin/kache"], env: { KACHE_CACHE_DIR: "/c" } };

  test("without a service manager: writes the unit, does not enable it, says so plainly", () => {
    const home = makeTempDir();
    const env = { PATH: process.env.PATH, KACHE_SERVICE_MANAGER: "none" };
    const result = installService(spec, { home, env, platform: "linux" });
    expect(result.file).toBe(join(home, ".config/systemd/user/kache.service"));
    expect(readFileSync(result.file, "utf8")).toBe(serviceUnit(spec));
    expect(result.enabled).toBe(false);
    expect(result.message).toContain("not available");
    expect(result.message).toContain(result.file);
    expect(result.message).toContain("background process");
    expect(isServiceInstalled(home, env, "linux")).toBe(true);
    expect(restartService({ home, env, platform: "linux" }).restarted).toBe(false);
  });

  test("the plist goes to LaunchAgents and parses", () => {
    const home = makeTempDir();
    const env = { KACHE_SERVICE_MANAGER: "none" };
    const result = installService(spec, { home, env, platform: "darwin" });
    expect(result.file).toBe(join(home, "Library/LaunchAgents/ninja.kunobi.kache.plist"));
    expect(parsePlist(readFileSync(result.file, "utf8")).Label).toBe("ninja.kunobi.kache");
    expect(result.enabled).toBe(false);
  });

  test("uninstall removes the file and is idempotent", () => {
    const home = makeTempDir();
    const env = { KACHE_SERVICE_MANAGER: "none" };
    const { file } = installService(spec, { home, env, platform: "linux" });
    const first = uninstallService({ home, env, platform: "linux" });
    expect(first.removed).toBe(true);
    expect(first.message).toContain(`removed ${file}`);
    expect(existsSync(file)).toBe(false);
    expect(isServiceInstalled(home, env, "linux")).toBe(false);
    const second = uninstallService({ home, env, platform: "linux" });
    expect(second.removed).toBe(false);
    expect(second.message).toContain("no service installed");
  });

  test("with systemd usable: daemon-reload, enable --now; restart and disable go through systemctl", () => {
    const home = makeTempDir();
    const fake = fakeTool("systemctl");
    const env = { PATH: fake.path };
    const installed = installService(spec, { home, env, platform: "linux" });
    expect(installed.enabled).toBe(true);
    expect(restartService({ home, env, platform: "linux" }).restarted).toBe(true);
    expect(uninstallService({ home, env, platform: "linux" }).removed).toBe(true);
    expect(fake.calls().filter((call) => !call.endsWith("show-environment"))).toEqual([
      "--user daemon-reload",
      "--user enable --now kache.service",
      "--user restart kache.service",
      "--user disable --now kache.service",
      "--user daemon-reload",
    ]);
  });

  test("with launchd usable: bootstrap into the gui domain, kickstart to restart, bootout to remove", () => {
    const home = makeTempDir();
    const fake = fakeTool("launchctl");
    const env = { PATH: fake.path };
    const { file, enabled } = installService(spec, { home, env, platform: "darwin" });
    expect(enabled).toBe(true);
    restartService({ home, env, platform: "darwin" });
    uninstallService({ home, env, platform: "darwin" });
    const domain = `gui/${process.getuid!()}`;
    expect(fake.calls()).toEqual([
      `bootout ${domain}/ninja.kunobi.kache`,
      `bootstrap ${domain} ${file}`,
      `kickstart -k ${domain}/ninja.kunobi.kache`,
      `bootout ${domain}/ninja.kunobi.kache`,
    ]);
  });

  test("a usable manager that refuses to enable is an error with a hint", () => {
    const home = makeTempDir();
    const dir = makeTempDir();
    // Answers the probe, fails everything else.
    writeFileSync(
      join(dir, "systemctl"),
      '#!/bin/sh\n[ "$2" = show-environment ] && exit 0\necho nope >&2\nexit 1\n',
    );
    chmodSync(join(dir, "systemctl"), 0o755);
    expect(() => installService(spec, { home, env: { PATH: dir }, platform: "linux" })).toThrow(
      "`systemctl --user daemon-reload` failed: nope",
    );
  });
});
