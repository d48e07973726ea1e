// `kache config` driven through dist/kache in a temp HOME: get/set/unset/list/path, validation, the
// file kept byte-for-byte around each edit, and the interactive editor in a real terminal (tmux).
import { afterAll, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { SETTINGS } from "../../src/config/settings";
import { KACHE_BIN, makeTempDir, removeTempDirs } from "./harness";
import { startTmux } from "./tmux-session";

afterAll(removeTempDirs);

interface Home {
  root: string;
  /** `$XDG_CONFIG_HOME/kache/config.toml`: where `set` writes when nothing nearer applies. */
  globalFile: string;
  env: Record<string, string>;
}

function newHome(): Home {
  const root = makeTempDir("kache-e2e-config-home-");
  const configHome = join(root, "xdg");
  return {
    root,
    globalFile: join(configHome, "kache", "config.toml"),
    // Exactly this environment: no KACHE_* of the caller's, no real HOME.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: root, XDG_CONFIG_HOME: configHome },
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kache(
  home: Home,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Run {
  const run = Bun.spawnSync([KACHE_BIN, ...args], {
    cwd: options.cwd ?? home.root,
    env: { ...home.env, ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: run.exitCode ?? -1, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

function writeConfig(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

const HAND_WRITTEN = `# kache settings, kept by hand
[cache]
# the store may grow to this
local_max_size = "20GB"   # was 50GiB
compression_level = 5

# the team bucket
[cache.remote]
bucket = "team-cache"  # shared with CI
region = "eu-west-1"
`;

test("set then get round-trips, and the file keeps every other byte", () => {
  const home = newHome();
  writeConfig(home.globalFile, HAND_WRITTEN);
  const set = kache(home, ["config", "set", "cache.local_max_size", "10GB"]);
  expect(set.code, set.stderr).toBe(0);
  expect(set.stdout).toContain("cache.local_max_size");
  expect(readFileSync(home.globalFile, "utf8")).toBe(
    HAND_WRITTEN.replace('local_max_size = "20GB"', 'local_max_size = "10GB"'),
  );
  expect(kache(home, ["config", "get", "cache.local_max_size"]).stdout).toBe("10GB\n");
  expect(kache(home, ["config", "get", "KACHE_MAX_SIZE"]).stdout).toBe("10GB\n");

  // A new key lands in its table; everything that was there stays as it was.
  expect(kache(home, ["config", "set", "cache.key_salt", "team-a"]).code).toBe(0);
  expect(kache(home, ["config", "set", "KACHE_REMOTE_READ_ONLY", "yes"]).code).toBe(0);
  expect(readFileSync(home.globalFile, "utf8")).toBe(
    HAND_WRITTEN.replace('local_max_size = "20GB"', 'local_max_size = "10GB"')
      .replace("compression_level = 5\n", 'compression_level = 5\nkey_salt = "team-a"\n')
      .replace('region = "eu-west-1"\n', 'region = "eu-west-1"\nread_only = true\n'),
  );
  expect(kache(home, ["config", "get", "cache.key_salt"]).stdout).toBe("team-a\n");
  expect(kache(home, ["config", "get", "cache.remote.read_only"]).stdout).toBe("true\n");
});

test("values are stored in the types the loader reads, and read back as written", () => {
  const home = newHome();
  const cases: [string[], string, string][] = [
    [["cache.daemon_idle_timeout_secs", "30m"], 'daemon_idle_timeout_secs = "30m"', "30m"],
    [["cache.remote.bucket", "b1"], '\n\n[cache.remote]\nbucket = "b1"\n', "b1"],
    [["cache.remote.check_timeout", "5"], "check_timeout = 5", "5s"],
    [["cache.compression_level", "7"], "compression_level = 7", "7"],
    [["cache.incremental", "STRIP"], 'incremental = "strip"', "strip"],
    [["cache.cache_executables", "off"], "cache_executables = false", "false"],
    [
      ["cache.exclude", "/opt/vendored/**", "/srv/gen/**"],
      'exclude = [ "/opt/vendored/**", "/srv/gen/**" ]',
      "/opt/vendored/**\n/srv/gen/**",
    ],
    [["cache.fallback", "sccache"], 'fallback = "sccache"', "sccache"],
  ];
  for (const [args, written, read] of cases) {
    const set = kache(home, ["config", "set", ...args]);
    expect(set.code, set.stderr).toBe(0);
    expect(readFileSync(home.globalFile, "utf8")).toContain(written);
    expect(kache(home, ["config", "get", args[0]!]).stdout).toBe(`${read}\n`);
  }
  // The file the CLI wrote loads without a single issue.
  const list = kache(home, ["config", "list"]);
  expect(list.code, list.stderr).toBe(0);
  expect(list.stderr).toBe("");
});

test("unset removes the key and nothing else", () => {
  const home = newHome();
  writeConfig(home.globalFile, HAND_WRITTEN);
  const unset = kache(home, ["config", "unset", "cache.compression_level"]);
  expect(unset.code, unset.stderr).toBe(0);
  expect(readFileSync(home.globalFile, "utf8")).toBe(HAND_WRITTEN.replace("compression_level = 5\n", ""));
  expect(kache(home, ["config", "get", "cache.compression_level"]).stdout).toBe("3\n");
  const again = kache(home, ["config", "unset", "cache.compression_level"]);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain("is not set in");
  expect(readFileSync(home.globalFile, "utf8")).toBe(HAND_WRITTEN.replace("compression_level = 5\n", ""));
});

test("list names each value's source: env (which variable), file, default; --json parses", () => {
  const home = newHome();
  writeConfig(home.globalFile, HAND_WRITTEN);
  const env = { KACHE_MAX_SIZE: "30GB", KACHE_LOG: "debug", KACHE_S3_SECRET_KEY: "do-not-print" };
  const list = kache(home, ["config", "list"], { env });
  expect(list.code, list.stderr).toBe(0);
  const line = (name: string) => list.stdout.split("\n").find((text) => text.startsWith(`${name} `)) ?? "";
  expect(line("cache.local_max_size")).toMatch(/30GB\s+env KACHE_MAX_SIZE \(wins over 20GB in the file\)$/);
  expect(line("cache.compression_level")).toMatch(/5\s+file ~\/xdg\/kache\/config\.toml$/);
  expect(line("cache.remote.region")).toMatch(/eu-west-1\s+file /);
  expect(line("cache.key_salt")).toMatch(/—\s+default$/);
  expect(line("KACHE_LOG")).toMatch(/debug\s+env KACHE_LOG$/);
  expect(line("cache.fallback")).toMatch(/—\s+default$/);
  expect(list.stdout).not.toContain("do-not-print");
  // Every row of the settings table is listed.
  for (const row of SETTINGS) expect(line((row.key ?? row.env)!)).not.toBe("");

  const json = kache(home, ["config", "list", "--json"], { env });
  expect(json.code, json.stderr).toBe(0);
  expect(json.stdout).not.toContain("do-not-print");
  const parsed = JSON.parse(json.stdout) as {
    file: string;
    settings: {
      key: string | null;
      env: string | null;
      value: unknown;
      source: string;
      variable?: string;
      file?: string;
      overrides?: { value: unknown };
    }[];
  };
  expect(parsed.file).toBe(home.globalFile);
  expect(parsed.settings).toHaveLength(SETTINGS.length);
  const byKey = (key: string) => parsed.settings.find((row) => row.key === key)!;
  expect(byKey("cache.local_max_size")).toMatchObject({
    value: 30e9,
    source: "env",
    variable: "KACHE_MAX_SIZE",
    overrides: { value: "20GB" },
  });
  expect(byKey("cache.compression_level")).toMatchObject({ value: 5, source: "file", file: home.globalFile });
  expect(byKey("cache.key_salt")).toMatchObject({ value: "", source: "default" });
});

test("a config file with a bad value: list and get say where, and exit 1", () => {
  const home = newHome();
  writeConfig(home.globalFile, '[cache]\nlocal_max_size = "lots"\n');
  const list = kache(home, ["config", "list"]);
  expect(list.code).toBe(1);
  expect(list.stderr).toContain('config.toml:2: cache.local_max_size: invalid size "lots"');
  const get = kache(home, ["config", "get", "cache.local_max_size"]);
  expect(get.code).toBe(1);
  expect(get.stdout).toBe("50GiB\n");
  // set is how it gets fixed.
  expect(kache(home, ["config", "set", "cache.local_max_size", "1GiB"]).code).toBe(0);
  expect(kache(home, ["config", "list"]).code).toBe(0);
});

test("path follows SPEC §5 (KACHE_CONFIG, nearest .kache.toml, XDG), and set writes to that file", () => {
  const home = newHome();
  const none = kache(home, ["config", "path"]);
  expect(none.code).toBe(0);
  expect(none.stdout).toBe(`${home.globalFile}\n`);
  expect(none.stderr).toContain("does not exist yet");

  const project = join(home.root, "project");
  const deep = join(project, "crates", "app");
  mkdirSync(deep, { recursive: true });
  writeConfig(join(project, ".kache.toml"), "# project settings\n");
  expect(kache(home, ["config", "path"], { cwd: deep }).stdout).toBe(`${join(project, ".kache.toml")}\n`);
  expect(kache(home, ["config", "set", "cache.key_salt", "proj"], { cwd: deep }).code).toBe(0);
  expect(readFileSync(join(project, ".kache.toml"), "utf8")).toBe(
    '# project settings\n\n[cache]\nkey_salt = "proj"\n',
  );
  expect(existsSync(home.globalFile)).toBe(false);

  const named = join(home.root, "elsewhere", "kache.toml");
  const env = { KACHE_CONFIG: named };
  expect(kache(home, ["config", "path"], { cwd: deep, env }).stdout).toBe(`${named}\n`);
  expect(kache(home, ["config", "set", "cache.local_max_size", "5GB"], { cwd: deep, env }).code).toBe(0);
  expect(readFileSync(named, "utf8")).toBe('[cache]\nlocal_max_size = "5GB"\n');
  expect(kache(home, ["config", "get", "cache.local_max_size"], { cwd: deep, env }).stdout).toBe("5GB\n");
});

test("a symlinked config file (a dotfiles checkout) is edited through the link", () => {
  const home = newHome();
  const dotfile = join(home.root, "dotfiles", "kache.toml");
  writeConfig(dotfile, HAND_WRITTEN);
  mkdirSync(dirname(home.globalFile), { recursive: true });
  symlinkSync(dotfile, home.globalFile);
  expect(kache(home, ["config", "set", "cache.compression_level", "9"]).code).toBe(0);
  expect(lstatSync(home.globalFile).isSymbolicLink()).toBe(true);
  expect(readFileSync(dotfile, "utf8")).toBe(
    HAND_WRITTEN.replace("compression_level = 5", "compression_level = 9"),
  );
});

test("a bad value is exit 2 with the valid form in the message, and the file is unchanged", () => {
  const home = newHome();
  writeConfig(home.globalFile, HAND_WRITTEN);
  const cases: [string[], string][] = [
    [
      ["cache.local_max_size", "abc"],
      'cache.local_max_size: invalid size "abc" (use a number with a unit, e.g. 50GiB, 10GB or 512MiB)',
    ],
    [
      ["cache.remote.read_only", "maybe"],
      'cache.remote.read_only: invalid boolean "maybe" (use 1/0, true/false, yes/no or on/off)',
    ],
    [
      ["cache.compression_level", "40"],
      "cache.compression_level: 40 is out of range (use a number between 1 and 22)",
    ],
    [["cache.compression_level", "fast"], 'cache.compression_level: invalid integer "fast"'],
    [
      ["cache.incremental", "sometimes"],
      'cache.incremental: invalid value "sometimes" (use one of keep, strip)',
    ],
    [["cache.daemon_idle_timeout_secs", "5x"], 'invalid duration "5x" (use a number with s, m, h, d or w'],
    [["cache.local_max_size", "1GB", "2GB"], "cache.local_max_size takes one value, got 2"],
    [["cache.local_store", ""], "an empty value (to use the default: kache config unset cache.local_store)"],
    [["cache.exclude", "[1, 2]"], "is not an array of strings"],
    [["KACHE_LOG", "debug"], "KACHE_LOG is read from the environment only"],
    [
      ["cache.local_max_siz", "1GB"],
      "unknown setting `cache.local_max_siz` (did you mean cache.local_max_size?)",
    ],
    // Nothing near it: no file to remove it from, so the hint is where the known keys are.
    [["bogus.key", "1"], "unknown setting `bogus.key` (`kache config list` shows them)"],
  ];
  for (const [args, message] of cases) {
    const run = kache(home, ["config", "set", ...args]);
    expect(run.code, `${args.join(" ")}: ${run.stderr}`).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stdout).toBe("");
    expect(readFileSync(home.globalFile, "utf8")).toBe(HAND_WRITTEN);
  }
  // Nor is a file created for a value that was refused.
  const fresh = newHome();
  expect(kache(fresh, ["config", "set", "cache.local_max_size", "abc"]).code).toBe(2);
  expect(existsSync(fresh.globalFile)).toBe(false);
  expect(kache(fresh, ["config", "set"]).code).toBe(2);
});

test("without a terminal, bare kache config prints the list", () => {
  const home = newHome();
  writeConfig(home.globalFile, HAND_WRITTEN);
  const bare = kache(home, ["config"]);
  expect(bare.code, bare.stderr).toBe(0);
  expect(bare.stdout).toBe(kache(home, ["config", "list"]).stdout);
  expect(bare.stdout).toContain("config file: ~/xdg/kache/config.toml");
});

test("the interactive editor, in a terminal, changes one value and saves it to the file", async () => {
  const home = newHome();
  writeConfig(home.globalFile, HAND_WRITTEN);
  const editable = SETTINGS.filter((row) => row.key !== null).map((row) => row.key!);
  const env = { ...home.env, KACHE_COMPRESSION_LEVEL: "4" };
  const terminal = startTmux([KACHE_BIN, "config"], env, home.root);
  try {
    await terminal.waitFor("Pick a setting to change in ~/xdg/kache/config.toml");
    const steps = editable.indexOf("cache.compression_level");
    for (let step = 0; step < steps; step++) terminal.keys("Down");
    await terminal.waitFor("● cache.compression_level");
    terminal.keys("Enter");
    // It is in the file: change it (the first choice); the note says the environment wins.
    const explained = await terminal.waitFor("Change it");
    expect(explained).toContain("zstd level for remote archives");
    expect(explained).toContain("valid:   a whole number from 1 to 22");
    expect(explained).toContain("KACHE_COMPRESSION_LEVEL=4 is set in the environment and wins over the file");
    terminal.keys("Enter");
    await terminal.waitFor("New value for cache.compression_level");
    terminal.type("fast");
    terminal.keys("Enter");
    await terminal.waitFor('cache.compression_level: invalid integer "fast"');
    expect(readFileSync(home.globalFile, "utf8")).toBe(HAND_WRITTEN);
    terminal.keys("BSpace", "BSpace", "BSpace", "BSpace");
    terminal.type("9");
    terminal.keys("Enter");
    await terminal.waitFor("Saved cache.compression_level = 9 to ~/xdg/kache/config.toml");
    expect(readFileSync(home.globalFile, "utf8")).toBe(
      HAND_WRITTEN.replace("compression_level = 5", "compression_level = 9"),
    );
    // Back at the list, on the same setting; Done is the last choice.
    await terminal.waitFor("● cache.compression_level");
    for (let step = steps; step < editable.length; step++) terminal.keys("Down");
    await terminal.waitFor("● Done");
    terminal.keys("Enter");
    await terminal.waitFor("EXIT=0");
  } finally {
    terminal.close();
  }
  expect(kache(home, ["config", "get", "cache.compression_level"]).stdout).toBe("9\n");
}, 60_000);
