// install.sh against a local release server: piped into sh and dash it installs a kache whose
// --version matches package.json; KACHE_VERSION and KACHE_INSTALL_DIR pick the release and the dir;
// a tampered binary, an unsupported CPU and a missing download are one clear line, exit 1, and
// nothing installed; a running copy survives an upgrade; shellcheck finds nothing.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "./daemon-support";
import { makeTempDir, REPO_ROOT, removeTempDirs, runBinary } from "./harness";
import {
  fakeKache,
  HOST_ASSET,
  PACKAGE_VERSION,
  type ReleaseServer,
  serveRelease,
  writeRelease,
} from "./release-server";
import { runCollected } from "./run-collected";

const TIMEOUT = 60_000;
let server: ReleaseServer;

beforeAll(async () => {
  server = await serveRelease();
  writeRelease(join(server.root, "download", "v0.0.9"), fakeKache("0.0.9"));
});
afterAll(() => {
  server?.stop();
  removeTempDirs();
});

/** A temp HOME and the environment install.sh runs in; `extra` overrides (undefined removes). */
function installEnv(extra: Record<string, string | undefined> = {}) {
  const home = makeTempDir("kache-e2e-home-");
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: home,
    TMPDIR: makeTempDir("kache-e2e-tmp-"),
    KACHE_INSTALL_BASE: server.base,
    ...extra,
  };
  const clean = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  return { home, env: clean };
}

/** `curl -fsSL <server>/install.sh | <shell>`, as the README tells a user. */
function pipedInstall(shell: string, env: Record<string, string>) {
  return runCollected(["sh", "-c", `curl -fsSL "$KACHE_INSTALL_BASE/install.sh" | ${shell}`], { env });
}

test(
  "curl | sh installs the latest release into ~/.local/bin, with a PATH hint and the next step",
  async () => {
    const { home, env } = installEnv();
    const run = await pipedInstall("sh", env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const installed = join(home, ".local", "bin", "kache");
    expect(runBinary(installed, ["--version"]).trim()).toBe(`kache ${PACKAGE_VERSION}`);
    expect(readdirSync(join(home, ".local", "bin"))).toEqual(["kache"]);
    expect(run.stdout).toContain(`installed kache ${PACKAGE_VERSION} to ${installed}`);
    expect(run.stdout).toContain(`${join(home, ".local", "bin")} is not on your PATH`);
    expect(run.stdout).toContain("kache init");
    // The temp dir install.sh downloaded into is gone.
    expect(readdirSync(env.TMPDIR)).toEqual([]);
  },
  TIMEOUT,
);

test(
  "curl | dash installs too, and says nothing about PATH when the dir is on it",
  async () => {
    const dir = join(makeTempDir("kache-e2e-dest-"), "bin");
    const { env } = installEnv({ KACHE_INSTALL_DIR: dir });
    env.PATH = `${dir}:${env.PATH}`;
    const run = await pipedInstall("dash", env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(runBinary(join(dir, "kache"), ["--version"]).trim()).toBe(`kache ${PACKAGE_VERSION}`);
    expect(run.stdout).not.toContain("not on your PATH");
  },
  TIMEOUT,
);

test(
  "KACHE_VERSION picks a release (with or without the v), under bash and as sh install.sh",
  async () => {
    const dir = makeTempDir("kache-e2e-dest-");
    const { env } = installEnv({ KACHE_INSTALL_DIR: dir, KACHE_VERSION: "0.0.9" });
    const old = await runCollected(["bash", join(REPO_ROOT, "install.sh")], { env });
    expect(old.stderr).toBe("");
    expect(old.code).toBe(0);
    expect(runBinary(join(dir, "kache"), ["--version"]).trim()).toBe("kache 0.0.9");

    // Upgrade while the old kache runs: the rename leaves the running program's file alone.
    const running = Bun.spawn(["sh", "-c", `exec 3<"$0"; sleep 5`, join(dir, "kache")], { stdout: "ignore" });
    await waitFor("the running copy to open its file", () => existsSync(`/proc/${running.pid}/fd/3`));
    env.KACHE_VERSION = `v${PACKAGE_VERSION}`;
    const upgrade = await runCollected(["sh", join(REPO_ROOT, "install.sh")], { env });
    expect(upgrade.code).toBe(0);
    expect(runBinary(join(dir, "kache"), ["--version"]).trim()).toBe(`kache ${PACKAGE_VERSION}`);
    // Sliced: on a failure this would be the new 100 MB binary.
    expect(readFileSync(`/proc/${running.pid}/fd/3`, "utf8").slice(0, 100)).toContain("kache 0.0.9");
    running.kill();
    expect(readdirSync(dir)).toEqual(["kache"]);
  },
  TIMEOUT,
);

test(
  "a tampered binary is refused and the installed kache is left as it was",
  async () => {
    const tampered = join(server.root, "download", "v0.0.8");
    writeRelease(tampered, fakeKache("0.0.8"));
    const asset = join(tampered, HOST_ASSET);
    const bytes = readFileSync(asset);
    bytes[bytes.length - 2] ^= 1; // one byte changed after SHA256SUMS was written
    writeFileSync(asset, bytes);

    const dir = makeTempDir("kache-e2e-dest-");
    const { env } = installEnv({ KACHE_INSTALL_DIR: dir, KACHE_VERSION: "0.0.9" });
    expect((await runCollected(["sh", join(REPO_ROOT, "install.sh")], { env })).code).toBe(0);
    const before = readFileSync(join(dir, "kache"));

    env.KACHE_VERSION = "0.0.8";
    const run = await runCollected(["dash", join(REPO_ROOT, "install.sh")], { env });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain(`kache install: error: checksum mismatch for ${HOST_ASSET}`);
    expect(readFileSync(join(dir, "kache"))).toEqual(before);
    expect(readdirSync(dir)).toEqual(["kache"]);
    expect(readdirSync(env.TMPDIR)).toEqual([]);

    // Into an empty dir: nothing at all.
    const empty = join(makeTempDir("kache-e2e-dest-"), "bin");
    const again = await runCollected(["sh", join(REPO_ROOT, "install.sh")], {
      env: { ...env, KACHE_INSTALL_DIR: empty },
    });
    expect(again.code).toBe(1);
    expect(existsSync(empty)).toBe(false);
  },
  TIMEOUT,
);

test(
  "an unsupported CPU or OS is one clear line, exit 1, nothing installed",
  async () => {
    const stubs = makeTempDir("kache-e2e-stub-");
    const uname = join(stubs, "uname");
    writeFileSync(uname, '#!/bin/sh\ncase "$1" in -s) echo "$STUB_OS" ;; -m) echo "$STUB_CPU" ;; esac\n');
    chmodSync(uname, 0o755);
    for (const [os, cpu, message] of [
      ["Linux", "mips", "unsupported CPU 'mips': kache ships for x86_64 and arm64"],
      ["FreeBSD", "amd64", "unsupported operating system 'FreeBSD': kache ships for Linux and macOS"],
    ]) {
      const { home, env } = installEnv({ STUB_OS: os, STUB_CPU: cpu });
      env.PATH = `${stubs}:${env.PATH}`;
      const run = await pipedInstall("sh", env);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`kache install: error: ${message}\n`);
      expect(existsSync(join(home, ".local"))).toBe(false);
    }
  },
  TIMEOUT,
);

test(
  "the asset follows uname: aarch64 is arm64, and a Mac under Rosetta gets the native arm64 binary",
  async () => {
    const stubs = makeTempDir("kache-e2e-stub-");
    writeFileSync(
      join(stubs, "uname"),
      '#!/bin/sh\ncase "$1" in -s) echo "$STUB_OS" ;; -m) echo "$STUB_CPU" ;; esac\n',
    );
    writeFileSync(
      join(stubs, "sysctl"),
      '#!/bin/sh\n[ "$*" = "-n sysctl.proc_translated" ] && echo "$STUB_TRANSLATED"\n',
    );
    for (const tool of ["uname", "sysctl"]) chmodSync(join(stubs, tool), 0o755);
    for (const [os, cpu, translated, asset] of [
      ["Linux", "aarch64", "", "kache-linux-arm64"],
      ["Linux", "amd64", "", "kache-linux-x64"],
      ["Darwin", "arm64", "0", "kache-darwin-arm64"],
      ["Darwin", "x86_64", "0", "kache-darwin-x64"],
      ["Darwin", "x86_64", "1", "kache-darwin-arm64"],
    ]) {
      // The server has only this host's asset; the 404 names the one the script asked for.
      const { env } = installEnv({ STUB_OS: os, STUB_CPU: cpu, STUB_TRANSLATED: translated });
      env.PATH = `${stubs}:${env.PATH}`;
      const run = await runCollected(["sh", join(REPO_ROOT, "install.sh")], { env });
      const served = asset === HOST_ASSET;
      expect(run.code).toBe(served ? 0 : 1);
      if (!served)
        expect(run.stderr).toBe(
          `kache install: error: download failed: ${server.base}/latest/download/${asset}\n`,
        );
    }
  },
  TIMEOUT,
);

test(
  "a release that is not there (404) is a clear error, with wget as with curl",
  async () => {
    const { home, env } = installEnv({ KACHE_VERSION: "9.9.9" });
    const run = await runCollected(["sh", join(REPO_ROOT, "install.sh")], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `kache install: error: download failed: ${server.base}/download/v9.9.9/${HOST_ASSET}\n`,
    );
    expect(existsSync(join(home, ".local"))).toBe(false);

    // No curl on PATH: wget fetches, the same way. A PATH of links to everything but curl.
    const tools = makeTempDir("kache-e2e-tools-");
    for (const tool of [
      "wget",
      "sha256sum",
      "uname",
      "mktemp",
      "awk",
      "cut",
      "cp",
      "mv",
      "rm",
      "chmod",
      "mkdir",
      "cat",
      "sleep",
    ]) {
      const found = Bun.which(tool);
      if (found) Bun.spawnSync(["ln", "-s", found, join(tools, tool)]);
    }
    const wgetEnv = { ...env, PATH: tools };
    const missing = await runCollected(["/bin/sh", join(REPO_ROOT, "install.sh")], { env: wgetEnv });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`download failed: ${server.base}/download/v9.9.9/${HOST_ASSET}`);
    const latest = await runCollected(["/bin/sh", join(REPO_ROOT, "install.sh")], {
      env: { ...wgetEnv, KACHE_VERSION: "latest" },
    });
    expect(latest.stderr).toBe("");
    expect(latest.code).toBe(0);
    expect(runBinary(join(home, ".local", "bin", "kache"), ["--version"]).trim()).toBe(
      `kache ${PACKAGE_VERSION}`,
    );
  },
  TIMEOUT,
);

test("shellcheck finds nothing in install.sh", async () => {
  const run = await runCollected(["shellcheck", "--shell=sh", join(REPO_ROOT, "install.sh")], {
    env: process.env,
  });
  expect(run.stdout + run.stderr).toBe("");
  expect(run.code).toBe(0);
});
