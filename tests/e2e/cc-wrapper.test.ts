// `kache cc -c` on real C and C++ files through dist/kache: misses, hits, portable objects, dep files,
// pass-throughs, compile errors, masquerade shims and the loop guard.

import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { ccTestEnv } from "./cc-support";
import { cleanUpDaemons, kache, track, waitFor } from "./daemon-support";
import { KACHE_BIN, type KacheEvent, makeTempDir, readEvents, removeTempDirs } from "./harness";
import { queuedUploads, remoteConfig } from "./remote-support";

afterAll(async () => {
  await cleanUpDaemons();
  removeTempDirs();
});

const baseEnv = { ...ccTestEnv("kache-cc-home-"), KACHE_PROGRESS: "always" };
const home = baseEnv.HOME;

interface Run {
  exitCode: number;
  stderr: string;
}

/** Runs a command through `sh` so kache's parent is sh, whose stderr the test captures. */
function run(cwd: string, cmd: string[], env: Record<string, string> = {}): Run {
  const line = `${cmd.map((part) => `'${part}'`).join(" ")}; status=$?; exit $status`;
  const result = Bun.spawnSync(["/bin/sh", "-c", line], { cwd, env: { ...baseEnv, ...env }, stderr: "pipe" });
  return { exitCode: result.exitCode ?? 1, stderr: result.stderr.toString() };
}

function kacheCc(cwd: string, cacheDir: string, args: string[], env: Record<string, string> = {}): Run {
  return run(cwd, [KACHE_BIN, "cc", ...args], { KACHE_CACHE_DIR: cacheDir, ...env });
}

function checkout(header = "#define SCALE 3\n"): string {
  const dir = makeTempDir("kache-cc-src-");
  mkdirSync(join(dir, "include"));
  mkdirSync(join(dir, "out"));
  writeFileSync(join(dir, "include", "scale.h"), header);
  writeFileSync(
    join(dir, "scale.c"),
    '#include "scale.h"\n#include <stdio.h>\nint scale(int x) { return x * SCALE; }\nvoid show(void) { printf("%s\\n", __FILE__); }\n',
  );
  writeFileSync(join(dir, "plain.c"), "int twice(int x) { return 2 * x; }\n");
  return dir;
}

function lastEvent(cacheDir: string): KacheEvent {
  return readEvents(cacheDir).at(-1)!;
}

function entryCount(cacheDir: string): number {
  const db = new Database(join(cacheDir, "index.db"), { readonly: true });
  try {
    return (db.query("SELECT COUNT(*) AS n FROM entries").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe("kache cc -c", () => {
  const cacheDir = makeTempDir("kache-cc-cache-");
  const first = checkout();
  const second = checkout();
  const flags = ["-O2", "-fPIC", "-Wall", "-I", "include"];

  test("a miss, then a hit whose object is byte-identical to a plain compile", () => {
    const miss = kacheCc(first, cacheDir, [...flags, "-o", "out/plain.o", "-c", "plain.c"]);
    expect(miss.exitCode).toBe(0);
    expect(miss.stderr).toMatch(/\[kache\] cc plain\.c: miss \(/);
    expect(lastEvent(cacheDir)).toMatchObject({ crate: "plain.c", outcome: "miss", language: "c" });
    rmSync(join(first, "out", "plain.o"));
    const hit = kacheCc(first, cacheDir, [...flags, "-o", "out/plain.o", "-c", "plain.c"]);
    expect(hit.exitCode).toBe(0);
    expect(hit.stderr).toMatch(/\[kache\] cc plain\.c: local hit \(/);
    expect(lastEvent(cacheDir)).toMatchObject({ outcome: "local hit", language: "c" });
    expect(run(first, ["cc", ...flags, "-o", "out/fresh.o", "-c", "plain.c"]).exitCode).toBe(0);
    const restored = readFileSync(join(first, "out", "plain.o"));
    expect(restored.length).toBeGreaterThan(0);
    expect(restored.equals(readFileSync(join(first, "out", "fresh.o")))).toBe(true);
  });

  test("with -g, another checkout hits and neither object names its checkout dir", () => {
    const args = [...flags, "-g", "-MD", "-MF", "out/scale.d", "-o", "out/scale.o", "-c", "scale.c"];
    expect(kacheCc(first, cacheDir, args).exitCode).toBe(0);
    expect(lastEvent(cacheDir).outcome).toBe("miss");
    expect(kacheCc(second, cacheDir, args).exitCode).toBe(0);
    expect(lastEvent(cacheDir).outcome).toBe("local hit");
    for (const dir of [first, second]) {
      const object = join(dir, "out", "scale.o");
      const debugInfo = Bun.spawnSync(["readelf", "--debug-dump=info", object]).stdout.toString();
      expect(debugInfo).toContain("DW_AT_comp_dir");
      expect(debugInfo).not.toContain(first);
      expect(debugInfo).not.toContain(second);
      const strings = Bun.spawnSync(["strings", "-a", object]).stdout.toString();
      expect(strings).not.toContain(first);
      expect(strings).not.toContain(second);
    }
  });

  test("the dep file is rewritten for the second dir", () => {
    const args = ["-O2", "-I", `${first}/include`, "-MD", "-o", "out/abs.o", "-c", "scale.c"];
    const secondArgs = args.map((arg) => arg.replace(first, second));
    expect(kacheCc(first, cacheDir, args).exitCode).toBe(0);
    expect(lastEvent(cacheDir).outcome).toBe("miss");
    expect(kacheCc(second, cacheDir, secondArgs).exitCode).toBe(0);
    expect(lastEvent(cacheDir).outcome).toBe("local hit");
    const deps = readFileSync(join(second, "out", "abs.d"), "utf8");
    expect(deps.startsWith("out/abs.o: scale.c")).toBe(true);
    expect(deps).toContain(`${second}/include/scale.h`);
    expect(deps).not.toContain(first);
    const freshArgs = [
      "-O2",
      "-I",
      `${second}/include`,
      "-MD",
      "-MF",
      "out/fresh.d",
      "-o",
      "out/fresh-abs.o",
    ];
    const fresh = Bun.spawnSync(["cc", ...freshArgs, "-c", "scale.c"], { cwd: second });
    expect(fresh.exitCode).toBe(0);
    expect(deps).toBe(
      readFileSync(join(second, "out", "fresh.d"), "utf8").replace("out/fresh-abs.o:", "out/abs.o:"),
    );
  });

  test("an edited header misses", () => {
    const edited = checkout("#define SCALE 4\n");
    const args = [...flags, "-g", "-MD", "-MF", "out/scale.d", "-o", "out/scale.o", "-c", "scale.c"];
    expect(kacheCc(edited, cacheDir, args).exitCode).toBe(0);
    expect(lastEvent(cacheDir).outcome).toBe("miss");
  });

  test("warnings of the stored compile are replayed on a hit", () => {
    writeFileSync(join(first, "warn.c"), "int unused(void) { int x; return 0; }\n");
    const args = ["-Wall", "-o", "out/warn.o", "-c", "warn.c"];
    expect(kacheCc(first, cacheDir, args).stderr).toContain("unused variable");
    const hit = kacheCc(first, cacheDir, args);
    expect(lastEvent(cacheDir).outcome).toBe("local hit");
    expect(hit.stderr).toContain("warn.c:1:24: warning: unused variable");
  });

  test("an unknown flag passes through with its reason in events.jsonl", () => {
    const result = kacheCc(first, cacheDir, ["-Wa,--noexecstack", "-o", "out/asm.o", "-c", "plain.c"]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain("[kache] cc plain.c: passthrough (unsupported-flag)");
    expect(lastEvent(cacheDir)).toMatchObject({
      outcome: "passthrough",
      reason: "unsupported-flag",
      detail: "-Wa,--noexecstack",
      language: "c",
    });
    expect(readFileSync(join(first, "out", "asm.o")).length).toBeGreaterThan(0);
  });

  test("a compile error passes through with the compiler's exit code and caches nothing", () => {
    writeFileSync(join(first, "broken.c"), "int broken(void) { return ; }\nint x = ;\n");
    const before = entryCount(cacheDir);
    const result = kacheCc(first, cacheDir, ["-o", "out/broken.o", "-c", "broken.c"]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("broken.c:2:9: error:");
    expect(lastEvent(cacheDir)).toMatchObject({ outcome: "passthrough", reason: "compile-failed" });
    expect(entryCount(cacheDir)).toBe(before);
    expect(Bun.file(join(first, "out", "broken.o")).size).toBe(0);
  });

  test("C++ through kache c++: miss, hit, and the c++ progress line", () => {
    writeFileSync(
      join(first, "vec.cpp"),
      "#include <vector>\nint size() { return std::vector<int>(3).size(); }\n",
    );
    const args = ["-O1", "-std=c++17", "-o", "out/vec.o", "-c", "vec.cpp"];
    expect(run(first, [KACHE_BIN, "c++", ...args], { KACHE_CACHE_DIR: cacheDir }).exitCode).toBe(0);
    const hit = run(first, [KACHE_BIN, "c++", ...args], { KACHE_CACHE_DIR: cacheDir });
    expect(hit.stderr).toMatch(/\[kache\] c\+\+ vec\.cpp: local hit \(/);
    expect(lastEvent(cacheDir)).toMatchObject({ crate: "vec.cpp", language: "c++", outcome: "local hit" });
  });

  test("calls with no source (version, link, probe) pass through with no event", () => {
    const count = readEvents(cacheDir).length;
    expect(kacheCc(first, cacheDir, ["--version"]).exitCode).toBe(0);
    expect(kacheCc(first, cacheDir, ["-dumpmachine"]).exitCode).toBe(0);
    expect(kacheCc(first, cacheDir, ["-shared", "-o", "out/libplain.so", "out/plain.o"]).exitCode).toBe(0);
    expect(readEvents(cacheDir).length).toBe(count);
  });

  test("an object or dep file that is a device passes through and stays a device", () => {
    const args = ["-MD", "-MF", "/dev/null", "-o", "/dev/null", "-c", "plain.c"];
    for (let i = 0; i < 2; i++) expect(kacheCc(first, cacheDir, args).exitCode).toBe(0);
    expect(lastEvent(cacheDir)).toMatchObject({ outcome: "passthrough", reason: "special-output" });
    expect(Bun.spawnSync(["test", "-c", "/dev/null"]).exitCode).toBe(0);
  });

  test("cache.exclude matches C sources too", () => {
    const config = join(home, "exclude.toml");
    writeFileSync(config, '[cache]\nexclude = ["**/plain.c"]\n');
    kacheCc(first, cacheDir, ["-o", "out/ex.o", "-c", "plain.c"], { KACHE_CONFIG: config });
    expect(lastEvent(cacheDir)).toMatchObject({ outcome: "passthrough", reason: "excluded" });
  });

  test("parallel calls of one key compile once: the others wait and restore", async () => {
    writeFileSync(join(first, "race.c"), `int race(void) { return ${Date.now() % 1000}; }\n`);
    const env = { ...baseEnv, KACHE_CACHE_DIR: cacheDir };
    const before = readEvents(cacheDir).length;
    const calls = [1, 2, 3, 4].map(
      (n) =>
        Bun.spawn([KACHE_BIN, "cc", "-O2", "-o", `out/race${n}.o`, "-c", "race.c"], { cwd: first, env })
          .exited,
    );
    expect(await Promise.all(calls)).toEqual([0, 0, 0, 0]);
    const outcomes = readEvents(cacheDir)
      .slice(before)
      .map((event) => event.outcome)
      .sort();
    expect(outcomes).toEqual(["local hit", "local hit", "local hit", "miss"]);
    const objects = [1, 2, 3, 4].map((n) => readFileSync(join(first, "out", `race${n}.o`)));
    for (const object of objects) expect(object.equals(objects[0]!)).toBe(true);
  });

  test("direct mode: a repeated call hits without the preprocessor, an edited header misses", () => {
    const dir = checkout();
    // Files written just before the call are not trusted for an input list: make them an hour old.
    const old = Date.now() / 1000 - 3600;
    for (const name of ["scale.c", "include/scale.h"]) utimesSync(join(dir, name), old, old);
    const args = [...flags, "-o", "out/scale.o", "-c", "scale.c"];
    const phases = () => lastEvent(cacheDir).phases as Record<string, number>;
    kacheCc(dir, cacheDir, args);
    expect(lastEvent(cacheDir).outcome).toMatch(/miss|local hit/);
    expect(phases().prepass).toBeGreaterThan(0);
    kacheCc(dir, cacheDir, args);
    expect(lastEvent(cacheDir).outcome).toBe("local hit");
    expect(phases().prepass).toBeUndefined();
    writeFileSync(join(dir, "include", "scale.h"), "#define SCALE 5\n");
    kacheCc(dir, cacheDir, args);
    expect(lastEvent(cacheDir).outcome).toBe("miss");
    expect(phases().prepass).toBeGreaterThan(0);
    const fresh = Bun.spawnSync(["cc", ...flags, "-o", "out/fresh5.o", "-c", "scale.c"], { cwd: dir });
    expect(fresh.exitCode).toBe(0);
    expect(readFileSync(join(dir, "out", "scale.o")).equals(readFileSync(join(dir, "out", "fresh5.o")))).toBe(
      true,
    );
    kacheCc(dir, cacheDir, args, { KACHE_DIRECT_MODE: "false" });
    expect(lastEvent(cacheDir).outcome).toBe("local hit");
    expect(phases().prepass).toBeGreaterThan(0);
  });

  test("direct mode: a new header that shadows a recorded one (an earlier -I dir) sends the call to the preprocessor", () => {
    const dir = makeTempDir("kache-cc-shadow-");
    for (const sub of ["over", "base", "out"]) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, "base", "cfg.h"), "#define VALUE 1\n");
    writeFileSync(join(dir, "value.c"), "#include <cfg.h>\nint value(void) { return VALUE; }\n");
    const old = Date.now() / 1000 - 3600;
    for (const name of ["value.c", "base/cfg.h"]) utimesSync(join(dir, name), old, old);
    const args = ["-O2", "-Iover", "-Ibase", "-o", "out/value.o", "-c", "value.c"];
    const phases = () => lastEvent(cacheDir).phases as Record<string, number>;
    kacheCc(dir, cacheDir, args);
    kacheCc(dir, cacheDir, args);
    expect(lastEvent(cacheDir).outcome).toBe("local hit");
    expect(phases().prepass).toBeUndefined();
    // Nothing recorded changed, but the compiler would now read over/cfg.h.
    writeFileSync(join(dir, "over", "cfg.h"), "#define VALUE 2\n");
    kacheCc(dir, cacheDir, args);
    expect(lastEvent(cacheDir).outcome).toBe("miss");
    expect(phases().prepass).toBeGreaterThan(0);
    const fresh = Bun.spawnSync(["cc", ...args.slice(0, 3), "-o", "out/fresh.o", "-c", "value.c"], {
      cwd: dir,
    });
    expect(fresh.exitCode).toBe(0);
    expect(readFileSync(join(dir, "out", "value.o")).equals(readFileSync(join(dir, "out", "fresh.o")))).toBe(
      true,
    );
  });

  test("direct mode: a source that uses __TIMESTAMP__ is preprocessed every time (its mtime is in the object)", () => {
    const dir = makeTempDir("kache-cc-stamp-");
    mkdirSync(join(dir, "out"));
    writeFileSync(join(dir, "stamp.c"), "const char *stamp(void) { return __TIMESTAMP__; }\n");
    const old = Date.now() / 1000 - 3600;
    utimesSync(join(dir, "stamp.c"), old, old);
    const args = ["-O2", "-o", "out/stamp.o", "-c", "stamp.c"];
    kacheCc(dir, cacheDir, args);
    kacheCc(dir, cacheDir, args);
    expect((lastEvent(cacheDir).phases as Record<string, number>).prepass).toBeGreaterThan(0);
    // Touched: the same bytes, another __TIMESTAMP__; the object must be the fresh compile's.
    const older = old - 86_400;
    utimesSync(join(dir, "stamp.c"), older, older);
    kacheCc(dir, cacheDir, args);
    expect(lastEvent(cacheDir).outcome).toBe("miss");
    const fresh = Bun.spawnSync(["cc", "-O2", "-o", "out/fresh.o", "-c", "stamp.c"], { cwd: dir });
    expect(fresh.exitCode).toBe(0);
    expect(readFileSync(join(dir, "out", "stamp.o")).equals(readFileSync(join(dir, "out", "fresh.o")))).toBe(
      true,
    );
  });

  test("KACHE_DISABLED passes through with reason disabled", () => {
    kacheCc(first, cacheDir, ["-o", "out/off.o", "-c", "plain.c"], { KACHE_DISABLED: "1" });
    expect(lastEvent(cacheDir)).toMatchObject({ outcome: "passthrough", reason: "disabled" });
  });
});

describe("settings of a compile a build script runs", () => {
  test("come from where cargo ran, not from the build script's dir", () => {
    // cargo (a shell named cargo, staying in the workspace) runs a build script (a shell that cds
    // to its package's dir), which runs the compiler: as the cc crate does for a registry crate.
    const workspace = makeTempDir("kache-cc-ws-");
    const cacheDir = join(workspace, "cache");
    writeFileSync(join(workspace, ".kache.toml"), `[cache]\nlocal_store = "${cacheDir}"\n`);
    const fakeCargo = join(makeTempDir("kache-cc-bin-"), "cargo");
    writeFileSync(fakeCargo, readFileSync("/bin/sh"));
    chmodSync(fakeCargo, 0o755);
    const source = checkout();
    // A build script that runs make, whose recipe's shell runs the compiler: cargo is four up.
    const scripts = makeTempDir("kache-cc-scripts-");
    const runs = (script: string, command: string) =>
      writeFileSync(join(scripts, script), `${command}; exit $?\n`);
    runs("recipe.sh", `'${KACHE_BIN}' cc -c plain.c -o out/plain.o`);
    runs("make.sh", `/bin/sh '${join(scripts, "recipe.sh")}'`);
    runs("build.sh", `cd '${source}' && /bin/sh '${join(scripts, "make.sh")}'`);
    const result = Bun.spawnSync([fakeCargo, "-c", `/bin/sh '${join(scripts, "build.sh")}'; exit $?`], {
      cwd: workspace,
      env: baseEnv,
      stderr: "pipe",
    });
    expect(result.exitCode).toBe(0);
    expect(lastEvent(cacheDir)).toMatchObject({ outcome: "miss", language: "c" });
    expect(existsSync(join(home, ".cache", "kache"))).toBe(false);
  });
});

describe("masquerade shims", () => {
  const cacheDir = makeTempDir("kache-cc-cache-");
  const dir = checkout();
  const shims = makeTempDir("kache-cc-shims-");
  for (const name of ["cc", "gcc", "c++"]) symlinkSync(KACHE_BIN, join(shims, name));

  test("a shim dir on PATH twice finds the real cc and caches", () => {
    const env = { PATH: `${shims}:${shims}:/usr/bin:/bin`, KACHE_CACHE_DIR: cacheDir };
    expect(run(dir, ["cc", "-O2", "-o", "out/p.o", "-c", "plain.c"], env).exitCode).toBe(0);
    expect(run(dir, ["cc", "-O2", "-o", "out/p.o", "-c", "plain.c"], env).exitCode).toBe(0);
    expect(readEvents(cacheDir).map((event) => event.outcome)).toEqual(["miss", "local hit"]);
  });

  test("no real compiler after the shims: one line, exit 127", () => {
    const result = run(dir, [join(shims, "gcc"), "-c", "plain.c"], {
      PATH: shims,
      KACHE_CACHE_DIR: cacheDir,
    });
    expect(result.exitCode).toBe(127);
    expect(result.stderr.trim()).toBe("kache: no real gcc found on PATH after kache's shims");
  });

  test("a real compiler that is a script calling cc again compiles once, never loops", () => {
    const scriptDir = makeTempDir("kache-cc-script-");
    const marker = join(scriptDir, "ran");
    writeFileSync(
      join(scriptDir, "cc"),
      `#!/bin/sh\necho ran >> '${marker}'\nPATH='${shims}:/usr/bin:/bin' exec cc "$@"\n`,
    );
    chmodSync(join(scriptDir, "cc"), 0o755);
    const before = readEvents(cacheDir).length;
    const env = { PATH: `${shims}:${scriptDir}:/usr/bin:/bin`, KACHE_CACHE_DIR: cacheDir };
    const result = run(dir, ["cc", "-O1", "-o", "out/s.o", "-c", "plain.c"], env);
    expect(result.exitCode).toBe(0);
    expect(readFileSync(join(dir, "out", "s.o")).length).toBeGreaterThan(0);
    // The -E run, the identity queries and the compile each go through the script once.
    expect(readFileSync(marker, "utf8").trim().split("\n").length).toBeGreaterThan(0);
    const added = readEvents(cacheDir).slice(before);
    expect(added.map((event) => event.outcome)).toEqual(["miss"]);
  }, 30_000);
});

describe("a filesystem remote", () => {
  const bucket = makeTempDir("kache-cc-bucket-");
  const config = remoteConfig({ type: "filesystem", path: bucket });
  const machines = ["A", "B"].map(() => ({ cacheDir: makeTempDir("kache-cc-cache-"), dir: checkout() }));
  const args = ["-O2", "-g", "-I", "include", "-o", "out/scale.o", "-c", "scale.c"];

  async function startDaemon(cacheDir: string): Promise<void> {
    track(KACHE_BIN, cacheDir);
    const started = await kache(KACHE_BIN, ["daemon", "start"], cacheDir, { env: { KACHE_CONFIG: config } });
    expect(started.code).toBe(0);
  }

  test("shares C objects: A's miss is uploaded, B (another checkout, empty cache) gets a remote hit", async () => {
    const [a, b] = machines as [(typeof machines)[0], (typeof machines)[0]];
    await startDaemon(a.cacheDir);
    expect(kacheCc(a.dir, a.cacheDir, args, { KACHE_CONFIG: config }).exitCode).toBe(0);
    expect(lastEvent(a.cacheDir).outcome).toBe("miss");
    await waitFor("A's uploads", () => queuedUploads(a.cacheDir).length === 0, 60_000);
    await startDaemon(b.cacheDir);
    expect(kacheCc(b.dir, b.cacheDir, args, { KACHE_CONFIG: config }).exitCode).toBe(0);
    expect(lastEvent(b.cacheDir)).toMatchObject({ outcome: "remote hit", crate: "scale.c", language: "c" });
    const objectOf = (dir: string) => readFileSync(join(dir, "out", "scale.o"));
    expect(objectOf(b.dir).equals(objectOf(a.dir))).toBe(true);
  }, 120_000);
});

describe("C/C++ entries in the store's upkeep", () => {
  test("kache gc --max-age evicts C objects like Rust entries, blobs too, and the next call misses", () => {
    const cacheDir = makeTempDir("kache-cc-gc-");
    const dir = checkout();
    const args = ["-O2", "-o", "out/plain.o", "-c", "plain.c"];
    kacheCc(dir, cacheDir, args);
    kacheCc(dir, cacheDir, args);
    expect(lastEvent(cacheDir).outcome).toBe("local hit");
    expect(entryCount(cacheDir)).toBe(1);
    Bun.sleepSync(1100);
    const gc = run(dir, [KACHE_BIN, "gc", "--max-age", "1s"], { KACHE_CACHE_DIR: cacheDir });
    expect(gc.exitCode).toBe(0);
    expect(entryCount(cacheDir)).toBe(0);
    const blobs = Bun.spawnSync(["find", join(cacheDir, "store"), "-type", "f"])
      .stdout.toString()
      .trim();
    expect(blobs).toBe("");
    kacheCc(dir, cacheDir, args);
    expect(lastEvent(cacheDir).outcome).toBe("miss");
  });
});
