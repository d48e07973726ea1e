// The C cache through real cargo builds: cc-rs in tests/fixtures/cc-ws's build script runs the shims
// `kache install-shims` makes (CC_<host>, as `kache init` writes it). Warm rebuilds hit every object,
// edits miss just what they touch, flags and checkouts key as they should, and faults stay transparent.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  allWith,
  CC_WS_OUTPUT,
  CC_WS_SHARED_HEADER_USERS,
  CC_WS_SOURCES,
  cElapsedMs,
  cEvents,
  cSpanMs,
  cSummary,
  editFile,
  installShims,
  shimEnv,
} from "./cc-support";
import {
  type CargoResult,
  cargo,
  copyFixture,
  KACHE_BIN,
  makeTempDir,
  newCacheDir,
  removeTarget,
  removeTempDirs,
  runBinary,
} from "./harness";

const TIMEOUT = 120_000;

let workspace: string;
let cacheDir: string;
let shimDir: string;
let cold: CargoResult;

async function build(
  cwd: string,
  env: Record<string, string | undefined> = {},
  cache = cacheDir,
): Promise<CargoResult> {
  const result = await cargo(["build", "--locked"], {
    cwd,
    cacheDir: cache,
    env: { ...shimEnv(shimDir), ...env },
  });
  expect(result.code, result.stderr).toBe(0);
  return result;
}

function output(cwd = workspace): string[] {
  return runBinary(join(cwd, "target", "debug", "cmath-app"))
    .trimEnd()
    .split("\n");
}

/** CC_WS_OUTPUT with some lines replaced, e.g. { add: "13" }. */
function outputWith(changes: Record<string, string>): string[] {
  return CC_WS_OUTPUT.map((line) => {
    const name = line.slice(0, line.indexOf(":"));
    return name in changes ? `${name}: ${changes[name]}` : line;
  });
}

beforeAll(async () => {
  workspace = copyFixture("cc-ws");
  cacheDir = newCacheDir();
  shimDir = installShims();
  cold = await build(workspace);
}, TIMEOUT);
afterAll(() => removeTempDirs());

test("the cold build compiles every C file through kache (one miss each) and links a working program", () => {
  expect(cSummary(cold)).toEqual(allWith("miss"));
  expect(output()).toEqual(CC_WS_OUTPUT);
});

test(
  "a warm rebuild after rm -rf target hits every object, prints the same and compiles C faster",
  async () => {
    removeTarget(workspace);
    const warm = await build(workspace);
    expect(cSummary(warm)).toEqual(allWith("local hit"));
    expect(output()).toEqual(CC_WS_OUTPUT);
    const [missMs, hitMs] = [cElapsedMs(cold), cElapsedMs(warm)];
    const [coldSpan, warmSpan] = [cSpanMs(cold), cSpanMs(warm)];
    console.log(
      `cc-ws C compiles: cold ${missMs.toFixed(0)} ms summed (${coldSpan.toFixed(0)} ms from first to last), ` +
        `warm ${hitMs.toFixed(0)} ms summed (${warmSpan.toFixed(0)} ms)`,
    );
    expect(hitMs).toBeLessThan(missMs);
    expect(warmSpan).toBeLessThan(coldSpan);
    const tables = (result: CargoResult) =>
      Number(cEvents(result).find((event) => event.crate === "tables.c")?.elapsed_ms);
    expect(tables(warm)).toBeLessThan(tables(cold));
  },
  TIMEOUT,
);

test(
  "an edit to one C file misses just that object (and the program links the new code)",
  async () => {
    const restore = editFile(join(workspace, "cmath-sys", "csrc", "gcd.c"), "return a;", "return a * 2;");
    try {
      const edited = await build(workspace);
      expect(cSummary(edited)).toEqual(
        CC_WS_SOURCES.map((source) => `${source}: ${source === "gcd.c" ? "miss" : "local hit"}`),
      );
      expect(output()).toEqual(outputWith({ gcd: "42" }));
    } finally {
      restore();
    }
    const restored = await build(workspace);
    expect(cSummary(restored)).toEqual(allWith("local hit"));
    expect(output()).toEqual(CC_WS_OUTPUT);
  },
  TIMEOUT,
);

test(
  "an edit to the shared header misses exactly the objects that include it",
  async () => {
    const header = join(workspace, "cmath-sys", "csrc", "shared.h");
    const restore = editFile(
      header,
      "#define CMATH_OFFSET 7\n#define CMATH_FACTOR 3",
      "#define CMATH_OFFSET 8\n#define CMATH_FACTOR 4",
    );
    try {
      const edited = await build(workspace);
      const missed = (source: string) => CC_WS_SHARED_HEADER_USERS.includes(source);
      expect(cSummary(edited)).toEqual(
        CC_WS_SOURCES.map((source) => `${source}: ${missed(source) ? "miss" : "local hit"}`),
      );
      expect(output()).toEqual(outputWith({ add: "13", scale: "20" }));
    } finally {
      restore();
    }
  },
  TIMEOUT,
);

test(
  "a changed CFLAGS (-DEXTRA=1, which cc-rs passes on) misses and builds the flag's code",
  async () => {
    // cc-rs 1.0.73 prints no rerun-if-env-changed: only a fresh target dir reruns the build script.
    removeTarget(workspace);
    const flagged = await build(workspace, { CFLAGS: "-DEXTRA=1" });
    // The flag is part of every object's key, not only of add.c's preprocessed text.
    expect(cSummary(flagged)).toEqual(allWith("miss"));
    expect(output()).toEqual(outputWith({ add: "13" }));
    // And back without the flag: the first build's objects, not the flagged ones.
    removeTarget(workspace);
    const plain = await build(workspace);
    expect(cSummary(plain)).toEqual(allWith("local hit"));
    expect(output()).toEqual(CC_WS_OUTPUT);
  },
  TIMEOUT,
);

test(
  "another checkout at another path, same cache dir: every object hits and the program prints the same",
  async () => {
    const other = copyFixture("cc-ws", { under: "elsewhere/deeper" });
    const result = await build(other);
    expect(cSummary(result)).toEqual(allWith("local hit"));
    expect(output(other)).toEqual(CC_WS_OUTPUT);
  },
  TIMEOUT,
);

test(
  "an unknown flag (CFLAGS=-Wa,--noexecstack) passes through with reason unsupported-flag and still builds",
  async () => {
    removeTarget(workspace);
    const result = await build(workspace, { CFLAGS: "-Wa,--noexecstack" });
    expect(cSummary(result)).toEqual(allWith("passthrough"));
    expect(cEvents(result).map((event) => event.reason)).toEqual(CC_WS_SOURCES.map(() => "unsupported-flag"));
    expect(output()).toEqual(CC_WS_OUTPUT);
  },
  TIMEOUT,
);

test(
  "the shim dir on PATH twice, in front of the real compiler: the C hits, and rustc links through the shims",
  async () => {
    removeTarget(workspace);
    // A changed main.rs misses, so rustc links cmath-app, with `cc` from PATH: the shim, twice.
    const main = join(workspace, "app", "src", "main.rs");
    const restore = editFile(main, "fn main() {", "fn main() {\n    // linked through the shims");
    try {
      const path = `${shimDir}:${shimDir}:${process.env.PATH}`;
      const result = await build(workspace, { PATH: path });
      expect(cSummary(result)).toEqual(allWith("local hit"));
      const app = result.events.find((event) => event.crate === "cmath_app");
      expect(app?.outcome).toBe("miss");
      expect(output()).toEqual(CC_WS_OUTPUT);
    } finally {
      restore();
    }
  },
  TIMEOUT,
);

/** kache processes working in `dir` (their cwd), from /proc: a recursion would pile them up. */
function kacheProcessesIn(dir: string): number {
  const kache = realpathSync(KACHE_BIN);
  let count = 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) === dir && readlinkSync(`/proc/${name}/exe`) === kache) count++;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return count;
}

/** Runs `<shimDir>/cc -c hello.c` in a fresh dir with `path` as PATH; counts the processes while it runs. */
async function compileThroughShim(path: string) {
  const dir = makeTempDir("kache-e2e-cc-direct-");
  writeFileSync(join(dir, "hello.c"), "int hello(void) { return 42; }\n");
  const started = performance.now();
  const child = Bun.spawn([join(shimDir, "cc"), "-c", "hello.c", "-o", "hello.o"], {
    cwd: dir,
    env: { PATH: path, HOME: dir, KACHE_CACHE_DIR: join(dir, "cache"), XDG_CONFIG_HOME: join(dir, "config") },
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  let most = 0;
  while (child.exitCode === null && child.signalCode === null) {
    most = Math.max(most, kacheProcessesIn(dir));
    await Bun.sleep(2);
  }
  clearTimeout(killer);
  const code = await child.exited;
  const stderr = await new Response(child.stderr).text();
  return {
    code,
    stderr,
    most,
    ms: performance.now() - started,
    objects: readdirSync(dir).filter((name) => name.endsWith(".o")),
  };
}

test(
  "a direct compile through a shim with the shim dir on PATH twice finds the real cc behind it",
  async () => {
    const result = await compileThroughShim(`${shimDir}:${shimDir}:${process.env.PATH}`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.objects).toEqual(["hello.o"]);
    expect(result.most).toBeLessThanOrEqual(2);
  },
  TIMEOUT,
);

test(
  "no real compiler (PATH holds only the shim dir, twice): one clear line, exit 127, no recursion",
  async () => {
    const result = await compileThroughShim(`${shimDir}:${shimDir}`);
    expect(result.code).toBe(127);
    expect(result.stderr.trim()).toBe("kache: no real cc found on PATH after kache's shims");
    expect(result.objects).toEqual([]);
    // A kache that ran itself again would pile up processes or spin until killed.
    expect(result.most).toBeLessThanOrEqual(1);
    expect(result.ms).toBeLessThan(10_000);
  },
  TIMEOUT,
);

/** Every `[kache] cc <source>: ...` line the build left: cargo's stderr and the build script's captured output. */
function ccLines(cwd: string, result: CargoResult): string[] {
  const texts = [result.stderr];
  const buildDir = join(cwd, "target", "debug", "build");
  for (const name of readdirSync(buildDir).filter((entry) => entry.startsWith("cmath-sys-"))) {
    for (const file of ["output", "stderr"]) {
      try {
        texts.push(readFileSync(join(buildDir, name, file), "utf8"));
      } catch {
        // the build-script compile dir has neither
      }
    }
  }
  return texts.flatMap((text) => text.split("\n")).filter((line) => /\[kache\] cc \S+\.c: /.test(line));
}

test(
  "transparency: KACHE_DISABLED=1 builds the same program, every C compile passing through as disabled",
  async () => {
    removeTarget(workspace);
    const result = await build(workspace, { KACHE_DISABLED: "1" });
    expect(cSummary(result)).toEqual(allWith("passthrough"));
    expect(cEvents(result).every((event) => event.reason === "disabled")).toBe(true);
    expect(output()).toEqual(CC_WS_OUTPUT);
  },
  TIMEOUT,
);

/** Sets or clears the immutable flag; false where the filesystem has none (tmpfs, overlayfs). */
function chattr(flag: "+i" | "-i", path: string): boolean {
  return Bun.spawnSync(["chattr", flag, path], { stderr: "pipe" }).exitCode === 0;
}

test(
  "transparency: an unwritable (immutable) cache dir still builds the program, the C compiles passing through",
  async () => {
    let unwritable = join(newCacheDir(), "cache");
    mkdirSync(unwritable);
    const immutable = chattr("+i", unwritable);
    // Without the flag, a regular file where the cache dir should be is as unusable.
    if (!immutable) {
      unwritable = join(newCacheDir(), "not-a-dir");
      writeFileSync(unwritable, "");
    }
    try {
      removeTarget(workspace);
      const result = await build(workspace, {}, unwritable);
      expect(output()).toEqual(CC_WS_OUTPUT);
      if (immutable) expect(readdirSync(unwritable)).toEqual([]);
      // kache did run each compile (it said so), and cached none.
      const lines = ccLines(workspace, result);
      for (const source of CC_WS_SOURCES) {
        expect(
          lines.some((line) => line.includes(`[kache] cc ${source}: passthrough`)),
          lines.join("\n"),
        ).toBe(true);
      }
    } finally {
      if (immutable) chattr("-i", unwritable);
    }
  },
  TIMEOUT,
);
