// `kache cc` against what the compiler would really read: another checkout sharing the cache, the
// source's spelling, headers that appear later (deep names, CPATH, __has_include), files pulled in
// by .incbin, other TMPDIRs, flags that write side files, and -march=native. Each object is checked
// against what plain cc makes of the same call.
import { afterAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { IndexDb } from "../../src/store/index-db";
import { ccTestEnv } from "./cc-support";
import { KACHE_BIN, type KacheEvent, makeTempDir, readEvents, removeTempDirs } from "./harness";

afterAll(() => removeTempDirs());

const baseEnv = ccTestEnv("kache-cc-inputs-home-");

interface Run {
  exitCode: number;
  stderr: string;
}

function run(cwd: string, cmd: string[], env: Record<string, string> = {}): Run {
  const result = Bun.spawnSync(cmd, { cwd, env: { ...baseEnv, ...env }, stderr: "pipe", stdout: "ignore" });
  return { exitCode: result.exitCode ?? 1, stderr: result.stderr.toString() };
}

/** Writes files (relative to `root`) an hour old: direct mode trusts no file written during a call. */
function files(root: string, contents: Record<string, string>): void {
  const old = Date.now() / 1000 - 3600;
  for (const [name, text] of Object.entries(contents)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
    utimesSync(join(root, name), old, old);
  }
}

/** `kache cc` twice (the second goes direct when it can), then the object's bytes. */
function kacheTwice(cwd: string, cacheDir: string, args: string[], env: Record<string, string> = {}): Buffer {
  for (let i = 0; i < 2; i++)
    expect(run(cwd, [KACHE_BIN, "cc", ...args], { KACHE_CACHE_DIR: cacheDir, ...env }).exitCode).toBe(0);
  return readFileSync(join(cwd, "out.o"));
}

function kacheOnce(cwd: string, cacheDir: string, args: string[], env: Record<string, string> = {}): Buffer {
  expect(run(cwd, [KACHE_BIN, "cc", ...args], { KACHE_CACHE_DIR: cacheDir, ...env }).exitCode).toBe(0);
  return readFileSync(join(cwd, "out.o"));
}

/** Plain cc's object for the same call, written beside kache's. */
function plain(cwd: string, args: string[], env: Record<string, string> = {}): Buffer {
  const own = args.map((arg) => (arg === "out.o" ? "plain.o" : arg));
  expect(run(cwd, ["cc", ...own], env).exitCode).toBe(0);
  return readFileSync(join(cwd, "plain.o"));
}

const lastEvent = (cacheDir: string): KacheEvent => readEvents(cacheDir).at(-1)!;
const says = (object: Buffer, text: string) => object.includes(Buffer.from(text));

describe("another checkout sharing the cache", () => {
  test("-I../inc leads to each checkout's own header: the second never gets the first's object", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const root = makeTempDir("kache-cc-inputs-two-");
    for (const name of ["a", "b"])
      files(join(root, name), {
        "sub/foo.c": '#include "x.h"\nconst char *v = X;\n',
        "inc/x.h": `#define X "from-${name}"\n`,
      });
    const args = ["-O2", "-I../inc", "-c", "foo.c", "-o", "out.o"];
    expect(says(kacheTwice(join(root, "a", "sub"), cacheDir, args), "from-a")).toBe(true);
    const second = kacheTwice(join(root, "b", "sub"), cacheDir, args);
    expect(says(second, "from-b")).toBe(true);
    expect(second.equals(plain(join(root, "b", "sub"), args))).toBe(true);
  });

  test('an #include "../shared/x.h" from the source leads to each checkout\'s own header', () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const root = makeTempDir("kache-cc-inputs-rel-");
    for (const name of ["a", "b"])
      files(join(root, name), {
        "csys/src/foo.c": '#include "../../shared/x.h"\nconst char *v = X;\n',
        "shared/x.h": `#define X "shared-${name}"\n`,
      });
    const args = ["-O2", "-c", "src/foo.c", "-o", "out.o"];
    expect(says(kacheTwice(join(root, "a", "csys"), cacheDir, args), "shared-a")).toBe(true);
    expect(says(kacheTwice(join(root, "b", "csys"), cacheDir, args), "shared-b")).toBe(true);
    // b's header edited: still b's own.
    files(join(root, "b"), { "shared/x.h": '#define X "shared-b2"\n' });
    expect(says(kacheTwice(join(root, "b", "csys"), cacheDir, args), "shared-b2")).toBe(true);
  });

  test("the source's spelling is __FILE__: foo.c, ./foo.c and its absolute path each get their own", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const dir = makeTempDir("kache-cc-inputs-spelled-");
    files(dir, { "foo.c": "const char *f = __FILE__;\n" });
    for (const source of ["foo.c", "./foo.c", join(dir, "foo.c")]) {
      const args = ["-O2", "-c", source, "-o", "out.o"];
      const object = kacheTwice(dir, cacheDir, args);
      expect(object.equals(plain(dir, args))).toBe(source !== join(dir, "foo.c")); // kache maps its dir
      if (source !== join(dir, "foo.c")) expect(says(object, `${source}\0`)).toBe(true);
      else expect(says(object, "<WORKSPACE>/foo.c")).toBe(true);
    }
  });
});

describe("headers that come to exist", () => {
  test("a deeper name (<deep/er/x.h>) in an earlier include dir", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const dir = makeTempDir("kache-cc-inputs-deep-");
    files(dir, {
      "foo.c": '#include "deep/er/x.h"\nconst char *v = V;\n',
      "b/deep/er/x.h": '#define V "val-b"\n',
    });
    const args = ["-O2", "-Ia", "-Ib", "-c", "foo.c", "-o", "out.o"];
    expect(says(kacheTwice(dir, cacheDir, args), "val-b")).toBe(true);
    files(dir, { "a/deep/er/x.h": '#define V "val-a"\n' });
    expect(says(kacheOnce(dir, cacheDir, args), "val-a")).toBe(true);
  });

  test("a header in a CPATH dir", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const dir = makeTempDir("kache-cc-inputs-cpath-");
    files(dir, { "foo.c": '#include "cfg.h"\nconst char *v = V;\n', "base/cfg.h": '#define V "base"\n' });
    mkdirSync(join(dir, "cp"));
    const env = { CPATH: `${join(dir, "cp")}:${join(dir, "base")}` };
    const args = ["-O2", "-c", "foo.c", "-o", "out.o"];
    expect(says(kacheTwice(dir, cacheDir, args, env), "base")).toBe(true);
    files(dir, { "cp/cfg.h": '#define V "from-cpath"\n' });
    expect(says(kacheOnce(dir, cacheDir, args, env), "from-cpath")).toBe(true);
  });

  test("a header __has_include asked for, and did not find", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const dir = makeTempDir("kache-cc-inputs-has-");
    files(dir, {
      "foo.c":
        '#if __has_include("opt.h")\n#include "opt.h"\n#else\n#define OPT "no-opt"\n#endif\nconst char *v = OPT;\n',
    });
    mkdirSync(join(dir, "c"));
    const args = ["-O2", "-Ic", "-c", "foo.c", "-o", "out.o"];
    expect(says(kacheTwice(dir, cacheDir, args), "no-opt")).toBe(true);
    files(dir, { "c/opt.h": '#define OPT "has-opt"\n' });
    expect(says(kacheOnce(dir, cacheDir, args), "has-opt")).toBe(true);
  });
});

describe("the compiler's own headers", () => {
  test("glibc's, which use __has_include, leave direct mode on", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const dir = makeTempDir("kache-cc-inputs-glibc-");
    files(dir, { "foo.c": "#include <unistd.h>\nint f(void) { return (int)getpid(); }\n" });
    kacheTwice(dir, cacheDir, ["-O2", "-c", "foo.c", "-o", "out.o"]);
    expect(lastEvent(cacheDir).outcome).toBe("local hit");
    expect((lastEvent(cacheDir).phases as Record<string, number>).prepass).toBeUndefined();
  });
});

describe("what no preprocessor output shows", () => {
  test(".incbin: the call passes through, and the object always has the file's bytes", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const dir = makeTempDir("kache-cc-inputs-incbin-");
    files(dir, {
      "blob.c":
        '__asm__(".section .rodata\\n.global blob\\nblob:\\n.incbin \\"data.bin\\"\\n.byte 0\\n.previous\\n");\n',
      "data.bin": "first-bytes",
    });
    const args = ["-O2", "-c", "blob.c", "-o", "out.o"];
    expect(says(kacheTwice(dir, cacheDir, args), "first-bytes")).toBe(true);
    expect(lastEvent(cacheDir)).toMatchObject({ outcome: "passthrough", reason: "incbin" });
    files(dir, { "data.bin": "second-bytes" });
    expect(says(kacheOnce(dir, cacheDir, args), "second-bytes")).toBe(true);
  });

  test("another TMPDIR: no object names the first one's headers", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const root = makeTempDir("kache-cc-inputs-tmpdir-");
    const objects = ["t1", "t2"].map((name) => {
      const tmp = join(root, name);
      files(tmp, { "inc/x.h": "const char *where = __FILE__;\n", "work/foo.c": '#include "x.h"\n' });
      const args = ["-O2", "-g", `-I${join(tmp, "inc")}`, "-c", "foo.c", "-o", "out.o"];
      return kacheTwice(join(tmp, "work"), cacheDir, args, { TMPDIR: tmp });
    });
    expect(says(objects[1]!, join(root, "t1"))).toBe(false);
    expect(says(objects[0]!, join(root, "t1"))).toBe(false); // mapped, as every root is
  });
});

describe("flags", () => {
  test("-fsyntax-only, -fopt-info=FILE and -fdirectives-only pass through; the side file is always written", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const dir = makeTempDir("kache-cc-inputs-flags-");
    files(dir, { "foo.c": "int f(int x) { return x * 2; }\nconst char *d = __DATE__;\n" });
    for (const flag of ["-fsyntax-only", "-fopt-info-all=opt.txt", "-fdirectives-only"]) {
      for (let i = 0; i < 2; i++) {
        const result = run(dir, [KACHE_BIN, "cc", "-O2", flag, "-c", "foo.c", "-o", "out.o"], {
          KACHE_CACHE_DIR: cacheDir,
        });
        expect(result.exitCode).toBe(0);
        expect(result.stderr).not.toContain("kache warn");
        expect(lastEvent(cacheDir)).toMatchObject({ outcome: "passthrough", reason: "unsupported-flag" });
        if (flag.startsWith("-fopt-info")) {
          expect(existsSync(join(dir, "opt.txt"))).toBe(true);
          Bun.spawnSync(["rm", "-f", join(dir, "opt.txt")]);
        }
      }
    }
  });

  test("-march=native is keyed by what it means on this machine, never by the word", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const dir = makeTempDir("kache-cc-inputs-native-");
    files(dir, { "foo.c": "int f(int x) { return x * 2; }\n" });
    const args = ["-O2", "-march=native", "-c", "foo.c", "-o", "out.o"];
    kacheTwice(dir, cacheDir, args);
    expect(lastEvent(cacheDir).outcome).toBe("local hit");
    const index = IndexDb.open(cacheDir);
    try {
      const entry = index.getEntry(String(lastEvent(cacheDir).key))!;
      const flags = (entry.components as { flags: string[] }).flags;
      const native = flags.find((line) => line.startsWith("native: "))!;
      expect(native).toMatch(/-march=(?!native)\S+/);
    } finally {
      index.close();
    }
  });
});

describe("outputs", () => {
  test("a symlinked -o is written through on a hit, as the compiler writes it", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const dir = makeTempDir("kache-cc-inputs-link-");
    files(dir, { "foo.c": 'const char *v = "linked";\n' });
    const args = ["-O2", "-c", "foo.c", "-o", "link.o"];
    expect(run(dir, [KACHE_BIN, "cc", ...args], { KACHE_CACHE_DIR: cacheDir }).exitCode).toBe(0);
    writeFileSync(join(dir, "real.o"), "stale");
    Bun.spawnSync(["rm", "-f", join(dir, "link.o")]);
    symlinkSync("real.o", join(dir, "link.o"));
    expect(run(dir, [KACHE_BIN, "cc", ...args], { KACHE_CACHE_DIR: cacheDir }).exitCode).toBe(0);
    expect(lastEvent(cacheDir).outcome).toBe("local hit");
    expect(lstatSync(join(dir, "link.o")).isSymbolicLink()).toBe(true);
    expect(says(readFileSync(join(dir, "real.o")), "linked")).toBe(true);
  });

  test("an object dir that does not exist: passed through, the compiler's error alone", () => {
    const cacheDir = makeTempDir("kache-cc-inputs-cache-");
    const dir = makeTempDir("kache-cc-inputs-nodir-");
    files(dir, { "foo.c": "int f(void) { return 1; }\n" });
    const args = ["-O2", "-c", "foo.c", "-o", "missing/out.o"];
    for (let i = 0; i < 2; i++) {
      const result = run(dir, [KACHE_BIN, "cc", ...args], { KACHE_CACHE_DIR: cacheDir });
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).not.toContain("kache warn");
      expect(lastEvent(cacheDir)).toMatchObject({ outcome: "passthrough", reason: "output-dir-missing" });
    }
  });
});
