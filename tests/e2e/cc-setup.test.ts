// The C/C++ set-up through dist/kache in a temp HOME: `install-shims` (links, idempotence, refusals),
// `init` writing CC_<host>/CXX_<host> into cargo's [env] (every other byte kept, nothing the user
// sets overridden, --no-cc, --check), cargo handing them to a build script, doctor's C/C++ check, and
// stats/report counting C/C++ calls apart from Rust ones.
import { afterAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { privateKache } from "./daemon-support";
import { makeTempDir, removeTempDirs, withoutProgressLines } from "./harness";
import { runCollected } from "./run-collected";
import { rustHost, tempHome } from "./setup-support";

const bin = privateKache();
const host = rustHost();
const underscored = host.replaceAll("-", "_");
const SHIMS = ["c++", "cc", "clang", "clang++", "g++", "gcc"];

afterAll(removeTempDirs);

function envLines(shims: string): string {
  return (
    `CC_${host} = "${shims}/cc"\nCC_${underscored} = "${shims}/cc"\n` +
    `CXX_${host} = "${shims}/c++"\nCXX_${underscored} = "${shims}/c++"\n`
  );
}

describe("install-shims", () => {
  test("makes the dir and its parents (0755) with six links to kache; a rerun changes nothing", async () => {
    const t = tempHome(bin);
    const dir = join(makeTempDir("kache-e2e-shims-"), "a/b/shims");
    const first = await t.kache(["install-shims", dir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`shims: created cc, c++, gcc, g++, clang, clang++ in ${dir} -> ${bin}`);
    expect(first.stdout).toContain(`[env]\nCC_${host} = "${dir}/cc"\nCC_${underscored} = "${dir}/cc"\n`);
    expect(first.stdout).toContain(`CXX_${host} = "${dir}/c++"`);
    expect(first.stdout).toContain("kache init");
    expect(lstatSync(dir).mode & 0o7777).toBe(0o755);
    expect(readdirSync(dir).sort()).toEqual(SHIMS);
    for (const name of SHIMS) {
      expect(lstatSync(join(dir, name)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(dir, name))).toBe(bin);
    }
    const inode = lstatSync(join(dir, "cc")).ino;
    const second = await t.kache(["install-shims", dir]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`shims: ${dir} already in place (unchanged)`);
    expect(lstatSync(join(dir, "cc")).ino).toBe(inode);
    expect(readdirSync(dir).sort()).toEqual(SHIMS);
    // The shim runs kache: the name it is called by is a compiler name, and --version is kache's own.
    const version = await runCollected([join(dir, "cc"), "--version"], { env: t.env });
    expect(version.stdout + version.stderr).not.toContain("kache: error");
  });

  test("replaces links to another kache, refuses a regular file and a foreign link, does the rest, exits 1", async () => {
    const t = tempHome(bin);
    const dir = makeTempDir("kache-e2e-shims-");
    const old = join(makeTempDir("kache-e2e-old-"), "kache");
    writeFileSync(old, "#!/bin/sh\n", { mode: 0o755 });
    symlinkSync(old, join(dir, "cc"));
    symlinkSync("/nowhere/kache-0.1/kache", join(dir, "c++"));
    writeFileSync(join(dir, "gcc"), '#!/bin/sh\nexec /usr/bin/gcc "$@"\n', { mode: 0o755 });
    symlinkSync("/usr/bin/gcc-12", join(dir, "g++"));
    const run = await t.kache(["install-shims", dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`shims: created clang, clang++ in ${dir} -> ${bin}`);
    expect(run.stdout).toContain(`shims: replaced cc, c++ (they pointed at another kache) -> ${bin}`);
    expect(run.stderr).toBe(
      `kache: error: ${dir}/gcc is a regular file; ${dir}/g++ is a symlink to /usr/bin/gcc-12, not a kache shim: ` +
        "left as it is (move it away, then run this again)\n",
    );
    for (const name of ["cc", "c++", "clang", "clang++"]) expect(readlinkSync(join(dir, name))).toBe(bin);
    expect(readFileSync(join(dir, "gcc"), "utf8")).toBe('#!/bin/sh\nexec /usr/bin/gcc "$@"\n');
    expect(readlinkSync(join(dir, "g++"))).toBe("/usr/bin/gcc-12");
    expect(readdirSync(dir).filter((name) => name.includes("tmp"))).toEqual([]);
  });

  test("without a dir it is a usage error", async () => {
    const run = await tempHome(bin).kache(["install-shims"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("DIR");
  });
});

const HAND_WRITTEN = `# my cargo config
[build]
jobs = 4 # four cores

[env]
# logging for the dev server
RUST_LOG = { value = "info", force = false }
OPENSSL_DIR = "/opt/openssl"   # vendored
`;

describe("init", () => {
  test("on an empty HOME it installs the shims and writes the four [env] keys for the real host; a rerun changes nothing", async () => {
    const t = tempHome(bin, { emptyHome: true });
    const shims = join(t.cacheDir, "shims");
    const check = await t.kache(["init", "--check", "--no-service"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(
      `problem  C/C++: CC and CXX for ${host} not set up: build scripts compile uncached (run \`kache init\`)`,
    );
    expect(existsSync(shims)).toBe(false);
    const first = await t.kache(["init", "--no-service"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(
      `shims: created cc, c++, gcc, g++, clang, clang++ in ~/cache/shims -> ${bin}`,
    );
    expect(first.stdout).toContain(
      `cargo config: set [env] CC_${host}, CC_${underscored}, CXX_${host}, CXX_${underscored} in ~/.cargo/config.toml`,
    );
    expect(readFileSync(t.cargoConfig, "utf8")).toBe(
      `[build]\nrustc-wrapper = "${bin}"\n\n[env]\n${envLines(shims)}`,
    );
    for (const name of SHIMS) expect(readlinkSync(join(shims, name))).toBe(bin);
    const written = readFileSync(t.cargoConfig, "utf8");
    const second = await t.kache(["init", "--no-service"]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("shims: ~/cache/shims already in place (unchanged)");
    expect(second.stdout).toContain("(unchanged)");
    expect(second.stdout).toContain("nothing to change: kache was already set up");
    expect(readFileSync(t.cargoConfig, "utf8")).toBe(written);
    const after = await t.kache(["init", "--check", "--no-service"]);
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).toContain(
      `ok       C/C++: CC_${host}="~/cache/shims/cc" ([env] of ~/.cargo/config.toml) runs kache`,
    );
  });

  test("a hand-written config keeps its comments and other [env] keys byte for byte", async () => {
    const t = tempHome(bin);
    writeFileSync(t.cargoConfig, HAND_WRITTEN);
    const run = await t.kache(["init", "--no-service"]);
    expect(run.code, run.stderr).toBe(0);
    const shims = join(t.cacheDir, "shims");
    expect(readFileSync(t.cargoConfig, "utf8")).toBe(
      HAND_WRITTEN.replace("jobs = 4 # four cores\n", `jobs = 4 # four cores\nrustc-wrapper = "${bin}"\n`) +
        envLines(shims),
    );
  });

  test("CC set in [env], in the environment, or in a project's config is left alone; CXX is still added", async () => {
    const t = tempHome(bin);
    const own = `[env]\nCC = "/usr/bin/gcc-12"\n`;
    writeFileSync(t.cargoConfig, own);
    const inConfig = await t.kache(["init", "--no-service"]);
    expect(inConfig.code, inConfig.stderr).toBe(0);
    expect(inConfig.stdout).toContain(
      'CC for build scripts: CC="/usr/bin/gcc-12" is set in [env] of ~/.cargo/config.toml; kache leaves it',
    );
    const text = readFileSync(t.cargoConfig, "utf8");
    expect(text).not.toContain(`CC_${host}`);
    expect(text).toContain(`CXX_${host} = "${t.cacheDir}/shims/c++"`);

    const inShell = tempHome(bin);
    const shell = await inShell.kache(["init", "--no-service"], {
      [`CC_${underscored}`]: "clang-16",
      TARGET_CXX: "g++",
    });
    expect(shell.code, shell.stderr).toBe(0);
    expect(shell.stdout).toContain(
      `CC for build scripts: CC_${underscored}="clang-16" is set in the environment; kache leaves it`,
    );
    expect(shell.stdout).toContain(
      'CXX for build scripts: TARGET_CXX="g++" is set in the environment; kache leaves it',
    );
    expect(readFileSync(inShell.cargoConfig, "utf8")).toBe(`[build]\nrustc-wrapper = "${bin}"\n`);

    const inProject = tempHome(bin);
    const project = join(inProject.home, "app");
    mkdirSync(join(project, ".cargo"), { recursive: true });
    writeFileSync(join(project, ".cargo/config.toml"), `[env]\nHOST_CC = { value = "cc", force = true }\n`);
    const fromProject = await runCollected([bin, "init", "--no-service"], {
      cwd: project,
      env: inProject.env,
    });
    expect(fromProject.code, fromProject.stderr).toBe(0);
    expect(fromProject.stdout).toContain(
      'HOST_CC="cc" is set in [env] of ~/app/.cargo/config.toml; kache leaves it',
    );
    expect(readFileSync(inProject.cargoConfig, "utf8")).not.toContain("CC_");
  });

  test("--no-cc touches no C/C++ set-up; --check changes nothing", async () => {
    const t = tempHome(bin);
    writeFileSync(t.cargoConfig, HAND_WRITTEN);
    const check = await t.kache(["init", "--check", "--no-service"]);
    expect(check.code).toBe(1);
    expect(readFileSync(t.cargoConfig, "utf8")).toBe(HAND_WRITTEN);
    expect(existsSync(join(t.cacheDir, "shims"))).toBe(false);
    const run = await t.kache(["init", "--no-service", "--no-cc"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain("shims");
    expect(existsSync(join(t.cacheDir, "shims"))).toBe(false);
    expect(readFileSync(t.cargoConfig, "utf8")).not.toContain("CC_");
    const noCcCheck = await t.kache(["init", "--check", "--no-service", "--no-cc"]);
    expect(noCcCheck.code).toBe(0);
    expect(noCcCheck.stdout).not.toContain("C/C++");
  });
});

test("cargo hands the [env] keys to a build script; doctor checks the shims and --fix reinstalls them", async () => {
  const t = tempHome(bin);
  expect((await t.kache(["init", "--no-service"])).code).toBe(0);
  const crate = join(t.home, "probe");
  mkdirSync(join(crate, "src"), { recursive: true });
  writeFileSync(
    join(crate, "Cargo.toml"),
    '[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2021"\n',
  );
  writeFileSync(join(crate, "src/main.rs"), "fn main() {}\n");
  writeFileSync(
    join(crate, "build.rs"),
    `fn main() {\n    for name in ["CC_${host}", "CC_${underscored}", "CXX_${host}"] {\n` +
      '        println!("cargo:warning={}={}", name, std::env::var(name).unwrap_or_default());\n    }\n}\n',
  );
  const build = await runCollected(["cargo", "build"], { cwd: crate, env: t.env, timeoutMs: 120_000 });
  expect(build.code, build.stderr).toBe(0);
  const shims = join(t.cacheDir, "shims");
  // A progress line can land inside a warning cargo writes in pieces.
  const printed = withoutProgressLines(build.stderr);
  expect(printed).toContain(`warning: probe@0.1.0: CC_${host}=${shims}/cc`);
  expect(printed).toContain(`CC_${underscored}=${shims}/cc`);
  expect(printed).toContain(`CXX_${host}=${shims}/c++`);

  const line = (stdout: string) => stdout.split("\n").find((text) => text.includes("C/C++:")) ?? "";
  expect(line((await t.kache(["doctor"])).stdout)).toStartWith("ok       C/C++:");
  Bun.spawnSync(["rm", join(shims, "cc")]);
  const broken = line((await t.kache(["doctor"])).stdout);
  expect(broken).toContain(
    `problem  C/C++: CC_${host}="~/cache/shims/cc" ([env] of ~/.cargo/config.toml): the shim is missing`,
  );
  expect(broken).toContain("(run `kache doctor --fix`)");
  const fixed = line((await t.kache(["doctor", "--fix"])).stdout);
  expect(fixed).toBe(`fixed    C/C++: shims: created cc in ~/cache/shims -> ${bin}`);
  expect(readlinkSync(join(shims, "cc"))).toBe(bin);
  expect(line((await t.kache(["doctor"])).stdout)).toStartWith("ok       C/C++:");
  // An older kache's link (since deleted) is a problem that --fix replaces.
  Bun.spawnSync(["ln", "-sfn", "/opt/kache-0.1/kache", join(shims, "c++")]);
  expect(line((await t.kache(["doctor"])).stdout)).toContain("the shim points at another kache");
  const replaced = line((await t.kache(["doctor", "--fix"])).stdout);
  expect(replaced).toBe(`fixed    C/C++: shims: replaced c++ (they pointed at another kache) -> ${bin}`);
  expect(readlinkSync(join(shims, "c++"))).toBe(bin);
});

/** An events.jsonl line shaped as the wrappers write it (src/wrapper/report.ts), `language` left out when undefined. */
function eventLine(
  crate: string,
  outcome: string,
  compileMs: number,
  elapsedMs: number,
  language?: string,
  reason?: string,
) {
  return JSON.stringify({
    time: new Date(Date.now() - 60_000).toISOString(),
    crate,
    outcome,
    elapsed_ms: elapsedMs,
    compile_ms: compileMs,
    saved_ms: outcome.endsWith("hit") ? compileMs : 0,
    size: 1000,
    linked_bytes: 0,
    key: outcome === "passthrough" ? null : `key-${crate}`,
    phases: {},
    prepass: false,
    reason: reason ?? null,
    detail: null,
    out_dir: null,
    pid: 1,
    ...(language === undefined ? {} : { language }),
  });
}

const MIXED_EVENTS = [
  // Lines from before C/C++ caching carry no language: they are Rust.
  eventLine("fixture_core", "local hit", 1000, 10),
  eventLine("fixture_app", "miss", 500, 520),
  eventLine("fixture_noisy", "passthrough", 0, 30, "rust", "unsupported-flag"),
  eventLine("pcre2_compile.c", "local hit", 300, 5, "c"),
  eventLine("pcre2_match.c", "miss", 200, 210, "c"),
  eventLine("conftest.c", "passthrough", 0, 40, "c", "unsupported-flag"),
  eventLine("wrapper.cpp", "local hit", 100, 2, "c++"),
];

describe("stats and report count C/C++ apart from Rust", () => {
  const t = tempHome(bin);
  mkdirSync(t.cacheDir, { recursive: true });
  writeFileSync(join(t.cacheDir, "events.jsonl"), `${MIXED_EVENTS.join("\n")}\n`);

  test("stats --json and report --format json carry a languages object with the figures of each", async () => {
    const stats = JSON.parse((await t.kache(["stats", "--json"])).stdout);
    const report = JSON.parse((await t.kache(["report", "--format", "json"])).stdout);
    for (const document of [stats, report]) {
      const { rust, c, "c++": cxx } = document.languages;
      expect([rust.hits.total, rust.misses, rust.passthroughs.total, rust.time_saved_ms]).toEqual([
        1, 1, 1, 990,
      ]);
      expect([c.hits.total, c.misses, c.passthroughs.total, c.time_saved_ms]).toEqual([1, 1, 1, 295]);
      expect([cxx.hits.total, cxx.misses, cxx.passthroughs.total, cxx.time_saved_ms]).toEqual([1, 0, 0, 98]);
      expect([rust.hit_rate.count, c.hit_rate.count, cxx.hit_rate.count]).toEqual([0.5, 0.5, 1]);
      expect(c.passthroughs.by_reason).toEqual({ "unsupported-flag": 1 });
      expect(Object.keys(c).sort()).toEqual(Object.keys(rust).sort());
      expect(document.hits.total).toBe(3);
      expect(document.misses).toBe(2);
      expect(document.time_saved_ms).toBe(990 + 295 + 98);
    }
    expect(report.crates.find((row: { crate: string }) => row.crate === "pcre2_compile.c")).toMatchObject({
      language: "c",
      hits: 1,
    });
    expect(report.crates.find((row: { crate: string }) => row.crate === "fixture_core").language).toBe(
      "rust",
    );
    expect(
      report.slowest_misses.map(
        (miss: { crate: string; language: string }) => `${miss.language} ${miss.crate}`,
      ),
    ).toEqual(["rust fixture_app", "c pcre2_match.c"]);
  });

  test("stats text and every report format show a line per language and label C/C++ rows by source file", async () => {
    const stats = (await t.kache(["stats"])).stdout;
    expect(stats).toMatch(
      /^Rust: {9}1 hits, 1 misses, 1 passed through; hit rate 50(\.0)?%; time saved 990ms$/m,
    );
    expect(stats).toMatch(
      /^C: {12}1 hits, 1 misses, 1 passed through; hit rate 50(\.0)?%; time saved 295ms$/m,
    );
    expect(stats).toMatch(
      /^C\+\+: {10}1 hits, 0 misses, 0 passed through; hit rate 100(\.0)?%; time saved 98ms$/m,
    );
    const text = (await t.kache(["report"])).stdout;
    expect(text).toContain("C: 1 hits, 1 misses, 1 passed through;");
    expect(text).toMatch(/^cc pcre2_compile\.c +1 /m);
    expect(text).toMatch(/^c\+\+ wrapper\.cpp +1 /m);
    expect(text).toMatch(/^cc pcre2_match\.c +200ms/m);
    for (const format of ["markdown", "github"]) {
      const markdown = (await t.kache(["report", "--format", format])).stdout;
      expect(markdown).toContain("- C++: 1 hits, 0 misses, 0 passed through;");
      expect(markdown).toContain("| cc pcre2_compile.c |");
    }
  });

  test("with Rust calls only, the texts are as before and the languages object still has all three", async () => {
    const rustOnly = tempHome(bin);
    mkdirSync(rustOnly.cacheDir, { recursive: true });
    writeFileSync(join(rustOnly.cacheDir, "events.jsonl"), `${MIXED_EVENTS.slice(0, 3).join("\n")}\n`);
    const stats = (await rustOnly.kache(["stats"])).stdout;
    expect(stats).not.toMatch(/^(Rust|C):/m);
    expect((await rustOnly.kache(["report"])).stdout).not.toContain("Rust:");
    const json = JSON.parse((await rustOnly.kache(["stats", "--json"])).stdout);
    expect(Object.keys(json.languages)).toEqual(["rust", "c", "c++"]);
    expect(json.languages.c.events.count).toBe(0);
    expect(json.languages.rust.events.count).toBe(3);
  });
});
