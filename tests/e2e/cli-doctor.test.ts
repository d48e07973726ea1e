// `kache doctor` in a temp HOME set up by `kache init`, after a real build of path-ws: a healthy
// set-up passes; blobs changed in place or gone are found by --verify and dropped by --fix (the next
// build compiles those units again); bad modes, sccache, config errors, the daemon and the remote
// are each reported on one line, and --fix repairs what it can.
import { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import {
  chmodSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { cleanUpDaemons, pidAlive, privateKache, track } from "./daemon-support";
import {
  copyFixture,
  makeTempDir,
  PATH_WS_OUTPUT,
  PATH_WS_UNITS,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";
import { remoteConfig } from "./remote-support";
import { startS3Server } from "./s3-server";
import { type TempHome, tempHome } from "./setup-support";

const TIMEOUT = 120_000;
const bin = privateKache();
let t: TempHome;
let workspace: string;

interface JsonCheck {
  name: string;
  status: string;
  detail: string;
  hint: string;
}

beforeAll(async () => {
  t = tempHome(bin);
  const init = await t.kache(["init", "--no-service"]);
  if (init.code !== 0) throw new Error(`kache init failed: ${init.stderr}`);
  workspace = copyFixture("path-ws");
  const build = await t.build(workspace);
  if (build.code !== 0 || build.events.length !== PATH_WS_UNITS.length)
    throw new Error(`the first build did not go through kache: ${build.stderr}`);
}, TIMEOUT);
afterEach(cleanUpDaemons);
afterAll(removeTempDirs);

async function doctor(args: string[], extra: Record<string, string | undefined> = {}) {
  return t.kache(["doctor", ...args], extra);
}

function statuses(stdout: string): Record<string, string[]> {
  const byName: Record<string, string[]> = {};
  for (const line of stdout.trim().split("\n")) {
    const match = /^(ok|warn|problem|fixed) +([^:]+):/.exec(line);
    if (!match) throw new Error(`not a check line: ${line}`);
    byName[match[2]!] = [...(byName[match[2]!] ?? []), match[1]!];
  }
  return byName;
}

interface StoredFile {
  name: string;
  blob: string;
  executable: boolean;
  depInfo: boolean;
}

/** The blob file of `crate`'s output whose name ends with `suffix`, read from the real index. */
function blobOf(crate: string, suffix: string): string {
  const db = new Database(join(t.cacheDir, "index.db"), { readonly: true });
  try {
    const rows = db.query("SELECT files FROM entries WHERE crate = ? AND bound_to IS NULL").all(crate) as {
      files: string;
    }[];
    const files = rows.flatMap((row) => JSON.parse(row.files) as StoredFile[]);
    const file = files.find((candidate) => candidate.name.endsWith(suffix));
    if (!file) throw new Error(`no ${suffix} output for ${crate}`);
    const name = file.executable && !file.depInfo ? `${file.blob}.x` : file.blob;
    return join(t.cacheDir, "store", file.blob.slice(0, 2), name);
  } finally {
    db.close();
  }
}

/** Makes the blob writable and flips one byte in its middle, in place (same inode). */
function flipByte(path: string): void {
  chmodSync(path, statSync(path).mode | 0o200);
  const fd = openSync(path, "r+");
  try {
    const at = Math.floor(statSync(path).size / 2);
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0xff;
    writeSync(fd, byte, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

test("a healthy set-up after a real build exits 0, with --verify too, and --json parses", async () => {
  const plain = await doctor([]);
  expect(plain.code, plain.stdout).toBe(0);
  expect(Object.keys(statuses(plain.stdout))).toEqual([
    "sccache",
    "wrapper",
    "C/C++",
    "config",
    "cache dir",
    "store",
    "blob modes",
    "background stores",
    "daemon",
    "remote",
  ]);
  expect(plain.stdout).toContain(
    `ok       wrapper: cargo runs ${bin} (this kache), set in ~/.cargo/config.toml`,
  );
  expect(plain.stdout).toContain(`ok       store: ${PATH_WS_UNITS.length} entries,`);
  expect(plain.stdout).toContain("ok       background stores: none failed in the last day");

  const verified = await doctor(["--verify", "--json"]);
  expect(verified.code).toBe(0);
  const checks = JSON.parse(verified.stdout) as JsonCheck[];
  expect(checks.map((item) => item.name)).toContain("blobs");
  for (const item of checks) {
    expect(Object.keys(item).sort()).toEqual(["detail", "hint", "name", "status"]);
    expect(item.status, item.detail).toBe("ok");
  }
  expect(checks.find((item) => item.name === "entries")?.detail).toBe(
    `all ${PATH_WS_UNITS.length} entries have their blobs, whole`,
  );
});

test(
  "blobs changed in place or gone are reported by --verify and dropped by --fix; the next build recompiles those units",
  async () => {
    removeTarget(workspace); // no tree shares an inode with a blob now
    const rlib = blobOf("fixture_core", ".rlib");
    const executable = blobOf("fixture_app", "");
    expect(executable.endsWith(".x")).toBe(true);
    const rmeta = blobOf("fixture_noisy", ".rmeta");
    flipByte(rlib);
    flipByte(executable);
    unlinkSync(rmeta);

    const found = await doctor(["--verify"]);
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(
      /^problem {2}blobs: 2 blobs not matching its name: [0-9a-f]{12}…, [0-9a-f]{12}…/m,
    );
    expect(found.stdout).toContain(
      "problem  entries: 3 entries with missing or corrupt blobs: fixture_app, fixture_core, fixture_noisy",
    );
    const json = JSON.parse((await doctor(["--verify", "--json"])).stdout) as JsonCheck[];
    expect(json.find((item) => item.name === "blobs")).toMatchObject({ status: "problem" });
    expect(json.find((item) => item.name === "entries")?.hint).toContain("kache doctor --fix");

    const fixed = await doctor(["--verify", "--fix"]);
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(fixed.stdout).toContain("fixed    blobs: deleted 2 corrupt blobs");
    expect(fixed.stdout).toContain(
      "fixed    entries: dropped 3 entries (fixture_app, fixture_core, fixture_noisy); the next build compiles them again",
    );
    expect(existsSync(rlib) || existsSync(executable)).toBe(false);
    expect((await doctor(["--verify"])).code).toBe(0);

    const rebuilt = await t.build(workspace);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const damaged = ["fixture_app", "fixture_core", "fixture_noisy"];
    expect(summarise(rebuilt.events)).toEqual(
      PATH_WS_UNITS.map((unit) => `${unit}: ${damaged.includes(unit) ? "miss" : "local hit"}`),
    );
    expect(runBinary(join(workspace, "target/debug/fixture_app")).trim().split("\n")).toEqual(PATH_WS_OUTPUT);
    const after = await doctor(["--verify"]);
    expect(after.code, after.stdout).toBe(0);
  },
  TIMEOUT,
);

test("a cache dir anyone may write and writable blobs are reported, and --fix sets their modes", async () => {
  const depInfo = blobOf("fixture_core", ".d");
  const rlib = blobOf("fixture_core", ".rlib");
  const rlibMode = statSync(rlib).mode & 0o777;
  chmodSync(t.cacheDir, 0o777);
  chmodSync(depInfo, 0o644);
  chmodSync(rlib, rlibMode | 0o002);
  try {
    const found = await doctor([]);
    expect(found.code).toBe(1);
    expect(found.stdout).toContain(
      "problem  cache dir: ~/cache is writable by every user (mode 0777): every call compiles uncached",
    );
    expect(found.stdout).toMatch(/^problem {2}blob modes: 2 blobs writable/m);

    const fixed = await doctor(["--fix"]);
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(fixed.stdout).toContain("fixed    cache dir: made ~/cache private (mode 0700)");
    expect(fixed.stdout).toContain("fixed    blob modes: set the mode of 2 blobs");
    expect(statSync(t.cacheDir).mode & 0o777).toBe(0o700);
    expect(statSync(depInfo).mode & 0o777).toBe(0o444);
    expect(statSync(rlib).mode & 0o777).toBe(rlibMode);
    expect((await doctor([])).code).toBe(0);
  } finally {
    chmodSync(t.cacheDir, 0o700);
  }
});

const SCCACHE_CONFIG = `# set up years ago
[build]
rustc-wrapper = "sccache"   # shared cache
rustc-workspace-wrapper = "sccache"
jobs = 8

[registries.company]
index = "sparse+https://crates.example.com/index/"  # the company registry
`;

function sccacheOnPath(): string {
  const dir = makeTempDir("kache-e2e-sccache-");
  writeFileSync(join(dir, "sccache"), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
  return `${dir}:${process.env.PATH}`;
}

test("sccache in the cargo config is reported, kept by --fix alone, and replaced by --fix --purge-sccache with the rest kept", async () => {
  const PATH = sccacheOnPath();
  const before = readFileSync(t.cargoConfig, "utf8");
  writeFileSync(t.cargoConfig, SCCACHE_CONFIG);
  try {
    const found = await doctor([], { PATH });
    expect(found.code).toBe(1);
    expect(found.stdout).toContain(
      'problem  sccache: sccache is in force: build.rustc-wrapper in ~/.cargo/config.toml = "sccache", ' +
        'build.rustc-workspace-wrapper in ~/.cargo/config.toml = "sccache" ' +
        "(run `kache doctor --fix --purge-sccache` to take it out of your cargo config)",
    );
    expect(found.stdout).toContain(
      'problem  wrapper: cargo runs "sccache" (~/.cargo/config.toml), not kache',
    );

    const fixOnly = await doctor(["--fix"], { PATH });
    expect(fixOnly.code).toBe(1);
    expect(readFileSync(t.cargoConfig, "utf8")).toBe(SCCACHE_CONFIG);

    expect((await doctor(["--purge-sccache"], { PATH })).code).toBe(2);

    const purged = await doctor(["--fix", "--purge-sccache"], { PATH });
    expect(purged.code, purged.stdout).toBe(0);
    expect(purged.stdout).toContain(
      `fixed    sccache: replaced build.rustc-wrapper = "sccache" with "${bin}" in ~/.cargo/config.toml; ` +
        "removed build.rustc-workspace-wrapper from ~/.cargo/config.toml",
    );
    expect(purged.stdout).toContain("fixed    wrapper: ~/.cargo/config.toml names kache");
    expect(readFileSync(t.cargoConfig, "utf8")).toBe(
      SCCACHE_CONFIG.replace('"sccache"', `"${bin}"`).replace('rustc-workspace-wrapper = "sccache"\n', ""),
    );
    expect((await doctor([], { PATH })).code).toBe(0);
  } finally {
    writeFileSync(t.cargoConfig, before);
  }
});

test("sccache in the environment: the variable to unset is named, and --fix cannot remove it", async () => {
  const PATH = sccacheOnPath();
  const env = { PATH, RUSTC_WRAPPER: "sccache" };
  const found = await doctor(["--fix", "--purge-sccache"], env);
  expect(found.code).toBe(1);
  expect(found.stdout).toContain(
    'problem  sccache: sccache is in force: RUSTC_WRAPPER = "sccache" (unset RUSTC_WRAPPER (and remove it from your shell profile))',
  );
  // Fixing ~/.cargo/config.toml would not change what cargo runs here: the wrapper check says so, unfixed.
  expect(found.stdout).toContain(
    'problem  wrapper: cargo runs "sccache" (RUSTC_WRAPPER), not kache (unset RUSTC_WRAPPER',
  );
  // Shadowed by RUSTC_WRAPPER=kache: a warning, since it comes back once that variable goes.
  const shadowed = await doctor([], { PATH, RUSTC_WRAPPER: bin, CARGO_BUILD_RUSTC_WRAPPER: "sccache" });
  expect(shadowed.code).toBe(0);
  expect(shadowed.stdout).toContain(
    'warn     sccache: sccache is set but shadowed: CARGO_BUILD_RUSTC_WRAPPER = "sccache"',
  );
});

test("config errors are problems naming the file, line and key", async () => {
  const file = join(makeTempDir("kache-e2e-config-"), "config.toml");
  writeFileSync(file, '[cache]\nlocal_max_size = "lots"\nlocal_max_sise = "1GiB"\n');
  const found = await doctor(["--json"], { KACHE_CONFIG: file });
  expect(found.code).toBe(1);
  const problems = (JSON.parse(found.stdout) as JsonCheck[]).filter((item) => item.name === "config");
  expect(problems.map((item) => item.status)).toEqual(["problem", "problem"]);
  expect(problems.map((item) => item.detail).join("\n")).toContain(`${file}:2: cache.local_max_size:`);
  expect(problems.map((item) => item.detail).join("\n")).toContain(
    `${file}:3: cache.local_max_sise: unknown key`,
  );
  expect(problems.map((item) => item.hint).join("\n")).toContain("did you mean cache.local_max_size?");
});

test(
  "a filesystem remote answers or is a problem; an S3 bucket answers, a missing one and a server down are problems",
  async () => {
    const shared = makeTempDir("kache-e2e-shared-");
    const reachable = await doctor([], { KACHE_CONFIG: remoteConfig({ type: "filesystem", path: shared }) });
    expect(reachable.stdout).toMatch(new RegExp(`^ok {7}remote: ${shared} answers \\(\\d+ ms\\)$`, "m"));
    const missing = await doctor([], {
      KACHE_CONFIG: remoteConfig({ type: "filesystem", path: join(shared, "gone") }),
    });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^problem {2}remote: .+gone does not answer: .*does not exist/m);

    const s3 = await startS3Server();
    try {
      const answers = await doctor([], s3.env);
      expect(answers.stdout, answers.stderr).toMatch(
        /^ok {7}remote: s3:\/\/kache-test\/artifacts at .+ answers/m,
      );
      expect(s3.requests.some((request) => request.startsWith("GET /kache-test"))).toBe(true);
      const noBucket = await doctor([], { ...s3.env, KACHE_S3_BUCKET: "no-such-bucket" });
      expect(noBucket.code).toBe(1);
      expect(noBucket.stdout).toMatch(
        /^problem {2}remote: s3:\/\/no-such-bucket.+NoSuchBucket.+\(check the bucket/m,
      );
      s3.fault = "down";
      const down = await doctor([], s3.env);
      expect(down.code).toBe(1);
      expect(down.stdout).toMatch(/^problem {2}remote: .+ does not answer: .+\(check the network/m);
    } finally {
      await s3.close();
    }
  },
  TIMEOUT,
);

test(
  "the daemon: stopped with a remote is a warning --fix starts; an older build's daemon is replaced by --fix",
  async () => {
    const env = {
      KACHE_CONFIG: remoteConfig({ type: "filesystem", path: makeTempDir("kache-e2e-shared-") }),
    };
    track(bin, t.cacheDir);
    const stopped = await doctor([], env);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain("warn     daemon: not running: the next build starts it");
    const started = await doctor(["--fix"], env);
    const pid = Number(/fixed {4}daemon: started it: pid (\d+)/.exec(started.stdout)?.[1]);
    expect(pidAlive(pid)).toBe(true);
    expect((await doctor([], env)).stdout).toMatch(
      new RegExp(`ok {7}daemon: running \\(pid ${pid}, version`),
    );
    await t.kache(["daemon", "stop"], env);

    // A copy an hour older: its daemon carries an older epoch, as after an upgrade.
    const old = privateKache();
    const hourAgo = Date.now() / 1000 - 3600;
    utimesSync(old, hourAgo, hourAgo);
    track(old, t.cacheDir);
    const oldStart = await t.kache(["daemon", "start"], env, old);
    expect(oldStart.code, oldStart.stderr).toBe(0);
    const oldPid = Number(/pid (\d+)/.exec(oldStart.stdout)?.[1]);
    const outdated = await doctor([], env);
    expect(outdated.stdout).toContain(`warn     daemon: an older kache's daemon runs (pid ${oldPid},`);
    const replaced = await doctor(["--fix"], env);
    const newPid = Number(/fixed {4}daemon: replaced it: pid (\d+)/.exec(replaced.stdout)?.[1]);
    expect(newPid).not.toBe(oldPid);
    expect(pidAlive(oldPid)).toBe(false);
    expect(pidAlive(newPid)).toBe(true);
  },
  TIMEOUT,
);
