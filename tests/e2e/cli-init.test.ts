// `kache init` in a temp HOME: it points cargo's rustc wrapper at kache in $CARGO_HOME's config,
// keeping every other byte of a real-world file, refuses to replace another wrapper without -y or a
// yes at the terminal, changes nothing on a second run, and then cargo builds through kache with no
// RUSTC_WRAPPER in the environment. No service manager runs here: init says so and starts the daemon.
// Tests of the wrapper alone pass --no-cc; the C/C++ half has tests/e2e/cc-setup.test.ts.
import { afterAll, afterEach, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanUpDaemons, pidAlive, privateKache, track } from "./daemon-support";
import {
  copyFixture,
  makeTempDir,
  PATH_WS_OUTPUT,
  PATH_WS_UNITS,
  REPO_ROOT,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";
import { runCollected } from "./run-collected";
import { rustHost, tempHome } from "./setup-support";

const TIMEOUT = 180_000;
const bin = privateKache();

afterEach(cleanUpDaemons);
afterAll(removeTempDirs);

const REAL_WORLD = `# ~/.cargo/config.toml of a developer's machine, kept in a dotfiles repo

[net]
git-fetch-with-cli = true  # behind the corporate proxy
retry = 5

[build]
jobs = 4                   # the laptop has 4 cores
# target-dir = "/tmp/cargo-target"
incremental = true

[target.x86_64-unknown-linux-gnu]
linker = "clang"
rustflags = ["-C", "link-arg=-fuse-ld=lld"]

[alias]
b = "build"
t = "test --workspace"

[env]
RUST_LOG = { value = "info", force = false }
`;

const SCCACHE_CONFIG = `[build]
rustc-wrapper = "sccache"   # set by the old setup script
jobs = 8

# the company registry
[registries.company]
index = "sparse+https://crates.example.com/index/"
`;

/** A dir with an executable named sccache that runs the compiler it is given, as a wrapper does. */
function sccacheOnPath(): string {
  const dir = makeTempDir("kache-e2e-sccache-");
  writeFileSync(join(dir, "sccache"), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
  return `${dir}:${process.env.PATH}`;
}

test(
  "on an empty HOME: --check fails, init sets the wrapper and starts the daemon, a second run changes nothing; cargo then builds through kache",
  async () => {
    const t = tempHome(bin, { emptyHome: true });
    track(bin, t.cacheDir);
    // No user systemd in this container: init must say so and still finish.
    const probe = Bun.spawnSync(["systemctl", "--user", "show-environment"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(probe.success).toBe(false);

    const before = await t.kache(["init", "--check"]);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(
      "problem  wrapper: cargo runs no rustc wrapper: build.rustc-wrapper is not set in ~/.cargo/config.toml (run `kache init`)",
    );
    expect(existsSync(t.cargoHome)).toBe(false);

    const first = await t.kache(["init"]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      `cargo config: set build.rustc-wrapper = "${bin}" in ~/.cargo/config.toml`,
    );
    expect(first.stdout).toMatch(
      /service: no service manager here \(systemd user session not available: .+\)/,
    );
    const pid = Number(/daemon: started as a background process \(pid (\d+)/.exec(first.stdout)?.[1]);
    expect(pidAlive(pid)).toBe(true);
    expect(first.stdout).toContain("the next build that needs it (one with a remote cache) starts it again");
    expect(first.stdout).toContain("kache is set up");
    const written = readFileSync(t.cargoConfig, "utf8");
    // By default init also hands build scripts kache's C/C++ shims (tests/e2e/cc-setup.test.ts has the rest).
    const host = rustHost();
    const shims = join(t.cacheDir, "shims");
    const underscored = host.replaceAll("-", "_");
    expect(written).toBe(
      `[build]\nrustc-wrapper = "${bin}"\n\n[env]\n` +
        `CC_${host} = "${shims}/cc"\nCC_${underscored} = "${shims}/cc"\n` +
        `CXX_${host} = "${shims}/c++"\nCXX_${underscored} = "${shims}/c++"\n`,
    );
    expect(existsSync(join(t.home, ".config/systemd/user/kache.service"))).toBe(false);

    const second = await t.kache(["init"]);
    expect(second.code).toBe(0);
    expect(readFileSync(t.cargoConfig, "utf8")).toBe(written);
    expect(second.stdout).toContain("(unchanged)");
    expect(second.stdout).toContain(`daemon: already running (pid ${pid},`);
    expect(second.stdout).toContain("nothing to change: kache was already set up");

    const after = await t.kache(["init", "--check"]);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain(
      `ok       wrapper: cargo runs ${bin} (this kache), set in ~/.cargo/config.toml`,
    );
    expect(after.stdout).toMatch(/ok {7}service: no service manager here/);

    // tempHome's cargo runs with no RUSTC_WRAPPER or CARGO_BUILD_RUSTC_WRAPPER: only the config routes it.
    const workspace = copyFixture("path-ws");
    const cold = await t.build(workspace);
    expect(cold.code, cold.stderr).toBe(0);
    expect(summarise(cold.events)).toEqual(PATH_WS_UNITS.map((unit) => `${unit}: miss`));
    expect(cold.lines.map((line) => line.crate).sort()).toEqual(PATH_WS_UNITS);
    removeTarget(workspace);
    const warm = await t.build(workspace);
    expect(warm.code, warm.stderr).toBe(0);
    expect(summarise(warm.events)).toEqual(PATH_WS_UNITS.map((unit) => `${unit}: local hit`));
    expect(runBinary(join(workspace, "target/debug/fixture_app")).trim().split("\n")).toEqual(PATH_WS_OUTPUT);
  },
  TIMEOUT,
);

test("a real-world config keeps every other byte; --check fails before and passes after; a rerun is byte-identical", async () => {
  const t = tempHome(bin);
  writeFileSync(t.cargoConfig, REAL_WORLD);
  expect((await t.kache(["init", "--check", "--no-service", "--no-cc"])).code).toBe(1);
  expect(readFileSync(t.cargoConfig, "utf8")).toBe(REAL_WORLD);

  const first = await t.kache(["init", "--no-service", "--no-cc"]);
  expect(first.code, first.stderr).toBe(0);
  const expected = REAL_WORLD.replace(
    "incremental = true\n",
    `incremental = true\nrustc-wrapper = "${bin}"\n`,
  );
  expect(readFileSync(t.cargoConfig, "utf8")).toBe(expected);
  expect(first.stdout).not.toContain("daemon");

  const second = await t.kache(["init", "--no-service", "--no-cc"]);
  expect(second.code).toBe(0);
  expect(readFileSync(t.cargoConfig, "utf8")).toBe(expected);
  expect(second.stdout).toContain("nothing to change");
  const check = await t.kache(["init", "--check", "--no-service", "--no-cc"]);
  expect(check.code).toBe(0);
  expect(check.stdout.trim().split("\n")).toHaveLength(1);
});

test("another wrapper (sccache) is left in place without -y or a terminal, and replaced with -y", async () => {
  const t = tempHome(bin);
  const PATH = sccacheOnPath();
  writeFileSync(t.cargoConfig, SCCACHE_CONFIG);
  const check = await t.kache(["init", "--check", "--no-service", "--no-cc"], { PATH });
  expect(check.code).toBe(1);
  expect(check.stdout).toContain(
    'problem  wrapper: cargo runs "sccache" (~/.cargo/config.toml), not kache (run `kache init -y` to replace it with kache)',
  );

  const refused = await t.kache(["init", "--no-service", "--no-cc"], { PATH });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain(
    'cargo config: ~/.cargo/config.toml sets build.rustc-wrapper = "sccache" (sccache)',
  );
  expect(refused.stderr).toBe(
    'kache: error: left build.rustc-wrapper = "sccache" in ~/.cargo/config.toml; cargo does not build through kache ' +
      "(run `kache init -y` to replace it with kache)\n",
  );
  expect(readFileSync(t.cargoConfig, "utf8")).toBe(SCCACHE_CONFIG);

  const replaced = await t.kache(["init", "-y", "--no-service", "--no-cc"], { PATH });
  expect(replaced.code, replaced.stderr).toBe(0);
  expect(replaced.stdout).toContain(`replaced build.rustc-wrapper = "sccache" with "${bin}"`);
  const expected = SCCACHE_CONFIG.replace('"sccache"', `"${bin}"`);
  expect(readFileSync(t.cargoConfig, "utf8")).toBe(expected);
  const again = await t.kache(["init", "-y", "--no-service", "--no-cc"], { PATH });
  expect(again.stdout).toContain("nothing to change");
  expect(readFileSync(t.cargoConfig, "utf8")).toBe(expected);
  expect((await t.kache(["init", "--check", "--no-service", "--no-cc"], { PATH })).code).toBe(0);
});

test("at a terminal, init asks before replacing another wrapper: no leaves it, yes replaces it", async () => {
  const t = tempHome(bin);
  const PATH = sccacheOnPath();
  writeFileSync(t.cargoConfig, SCCACHE_CONFIG);
  const no = await t.kacheOnTerminal(["init", "--no-service", "--no-cc"], "n\n", { PATH });
  expect(no.stdout).toContain('sets build.rustc-wrapper = "sccache" (sccache)');
  expect(no.stdout).toContain('Replace "sccache" with kache? [y/N]');
  expect(no.code).toBe(1);
  expect(readFileSync(t.cargoConfig, "utf8")).toBe(SCCACHE_CONFIG);

  const yes = await t.kacheOnTerminal(["init", "--no-service", "--no-cc"], "y\n", { PATH });
  expect(yes.stdout).toContain('Replace "sccache" with kache? [y/N]');
  expect(yes.code).toBe(0);
  expect(readFileSync(t.cargoConfig, "utf8")).toBe(SCCACHE_CONFIG.replace('"sccache"', `"${bin}"`));
  expect((await t.kache(["init", "--check", "--no-service", "--no-cc"], { PATH })).code).toBe(0);
});

test("cargo reads the legacy extension-less config when both exist: init edits that one and says so", async () => {
  const t = tempHome(bin);
  const legacy = join(t.cargoHome, "config");
  const legacyText = "# legacy name, still read first\n[build]\njobs = 2\n";
  const ignoredText = '[alias]\nb = "build"\n';
  writeFileSync(legacy, legacyText);
  writeFileSync(t.cargoConfig, ignoredText);
  const run = await t.kache(["init", "--no-service", "--no-cc"]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain(
    "note: cargo reads ~/.cargo/config and ignores ~/.cargo/config.toml beside it",
  );
  expect(readFileSync(legacy, "utf8")).toBe(`${legacyText}rustc-wrapper = "${bin}"\n`);
  expect(readFileSync(t.cargoConfig, "utf8")).toBe(ignoredText);
  expect((await t.kache(["init", "--check", "--no-service", "--no-cc"])).code).toBe(0);
});

test("a kache on PATH that is this binary is written by that name; a symlinked config is edited through the link", async () => {
  const t = tempHome(bin);
  const binDir = makeTempDir("kache-e2e-path-");
  symlinkSync(bin, join(binDir, "kache"));
  const dotfiles = join(makeTempDir("kache-e2e-dotfiles-"), "cargo-config.toml");
  writeFileSync(dotfiles, REAL_WORLD);
  symlinkSync(dotfiles, t.cargoConfig);
  const run = await t.kache(["init", "--no-service", "--no-cc"], { PATH: `${binDir}:${process.env.PATH}` });
  expect(run.code, run.stderr).toBe(0);
  expect(lstatSync(t.cargoConfig).isSymbolicLink()).toBe(true);
  expect(readFileSync(dotfiles, "utf8")).toBe(
    REAL_WORLD.replace(
      "incremental = true\n",
      `incremental = true\nrustc-wrapper = "${join(binDir, "kache")}"\n`,
    ),
  );
});

test("RUSTC_WRAPPER in the environment beats the config: init warns, --check fails naming it", async () => {
  const t = tempHome(bin);
  const env = { RUSTC_WRAPPER: "/usr/bin/env" };
  const run = await t.kache(["init", "--no-service", "--no-cc"], env);
  expect(run.code).toBe(0);
  expect(run.stderr).toContain(
    'kache: warning: RUSTC_WRAPPER="/usr/bin/env" in this shell overrides the cargo config',
  );
  const check = await t.kache(["init", "--check", "--no-service", "--no-cc"], env);
  expect(check.code).toBe(1);
  expect(check.stdout).toContain('problem  wrapper: cargo runs "/usr/bin/env" (RUSTC_WRAPPER), not kache');
});

test("run from source under bun, init refuses and points at the built binary", async () => {
  const t = tempHome(bin);
  mkdirSync(join(t.home, "work"));
  const child = Bun.spawnSync(
    [process.execPath, join(REPO_ROOT, "src/main.ts"), "init", "--no-service", "--no-cc"],
    {
      env: t.env,
      cwd: join(t.home, "work"),
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  expect(child.exitCode).toBe(1);
  expect(child.stderr.toString()).toContain("cargo cannot use bun as its rustc wrapper");
  expect(child.stderr.toString()).toContain("dist/kache");
  expect(existsSync(t.cargoConfig)).toBe(false);
});

test("a project's .cargo/config.toml naming another wrapper beats ~/.cargo: init warns, --check and doctor name it", async () => {
  const t = tempHome(bin);
  const project = join(makeTempDir("kache-e2e-project-"), "app");
  mkdirSync(join(project, ".cargo"), { recursive: true });
  const projectConfig = join(project, ".cargo", "config.toml");
  writeFileSync(projectConfig, '[build]\nrustc-wrapper = "/usr/bin/env"\n');
  const run = (args: string[]) => runCollected([bin, ...args], { cwd: project, env: t.env });
  const init = await run(["init", "--no-service", "--no-cc"]);
  expect(init.code, init.stderr).toBe(0);
  expect(init.stderr).toBe(
    `kache: warning: ${projectConfig} sets build.rustc-wrapper = "/usr/bin/env", which cargo prefers here over ` +
      `~/.cargo/config.toml (remove build.rustc-wrapper from ${projectConfig})\n`,
  );
  expect(readFileSync(t.cargoConfig, "utf8")).toBe(`[build]\nrustc-wrapper = "${bin}"\n`);
  const check = await run(["init", "--check", "--no-service", "--no-cc"]);
  expect(check.code).toBe(1);
  expect(check.stdout).toContain(`problem  wrapper: cargo runs "/usr/bin/env" (${projectConfig}), not kache`);
  const doctor = await run(["doctor"]);
  expect(doctor.code).toBe(1);
  expect(doctor.stdout).toContain(
    `(remove build.rustc-wrapper from ${projectConfig} (cargo prefers it over ~/.cargo))`,
  );
  // Elsewhere, the same HOME builds through kache.
  expect((await t.kache(["init", "--check", "--no-service", "--no-cc"])).code).toBe(0);
});

test("a cargo config that is not valid TOML is named and left as it is", async () => {
  const t = tempHome(bin);
  const broken = '[build]\njobs = 4\nrustc-wrapper = "sccache\n';
  writeFileSync(t.cargoConfig, broken);
  const run = await t.kache(["init", "--no-service", "--no-cc"]);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(
    /^kache: error: .+\.cargo\/config\.toml is not valid TOML: .+\(fix the file by hand/,
  );
  expect(readFileSync(t.cargoConfig, "utf8")).toBe(broken);
  const check = await t.kache(["init", "--check", "--no-service", "--no-cc"]);
  expect(check.code).toBe(1);
  expect(check.stdout).toContain("is not valid TOML");
});
