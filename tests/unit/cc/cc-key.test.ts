// The C/C++ key with the real gcc: portable across checkouts, sensitive to headers, defines and remapping.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCcArgs } from "../../../src/cc/cc-args";
import { ccRoots } from "../../../src/cc/cc-flow";
import { type CcKey, keyCall, remapFlags } from "../../../src/cc/cc-key";
import { markerNames, normaliseLineMarkers } from "../../../src/cc/preprocess";
import { ensureCacheDir } from "../../../src/store/cache-dir";
import { IndexDb } from "../../../src/store/index-db";
import { PathNormaliser } from "../../../src/util/path-roots";

const root = mkdtempSync(join(tmpdir(), "kache-cc-key-"));
const cacheDir = join(root, "cache");
ensureCacheDir(cacheDir);
const index = IndexDb.open(cacheDir);
afterAll(() => {
  index.close();
  rmSync(root, { recursive: true, force: true });
});

const env: Record<string, string | undefined> = {
  PATH: process.env.PATH,
  HOME: join(root, "home"),
  TMPDIR: tmpdir(),
};

function checkout(name: string, header = "#define ANSWER 42\n"): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "include"), { recursive: true });
  writeFileSync(join(dir, "include", "answer.h"), header);
  writeFileSync(
    join(dir, "lib.c"),
    '#include "answer.h"\nconst char *where = __FILE__;\nint answer(void) { return ANSWER + VALUE; }\n',
  );
  return dir;
}

function keyIn(dir: string, extra: string[] = [], keyEnvVars: string[] = []): CcKey {
  const args = [
    "-O2",
    "-g",
    "-fPIC",
    `-I${dir}/include`,
    "-DVALUE=1",
    ...extra,
    "-o",
    "out/lib.o",
    "-c",
    `${dir}/lib.c`,
  ];
  const parsed = parseCcArgs(args, "cc");
  expect(parsed.passthrough).toBeNull();
  const normaliser = new PathNormaliser(ccRoots(dir, env));
  const remap = remapFlags(parsed, normaliser);
  const request = { compiler: "cc", args, parsed, cwd: dir, env, index, normaliser, remap, salt: "" };
  const keying = keyCall({ ...request, keyEnvVars });
  if (!("keyed" in keying)) throw new Error(`not keyed: ${keying.passthrough}`);
  return keying.keyed;
}

describe("the C/C++ key", () => {
  const first = checkout("one");
  const second = checkout("two");

  test("two checkout dirs give the same key for the same sources", () => {
    const a = keyIn(first);
    const b = keyIn(second);
    expect(a.components.flags).toContain("-I<WORKSPACE>/include");
    expect(b.key).toBe(a.key);
  });

  test("an edit of a header changes it", () => {
    const edited = checkout("edited", "#define ANSWER 43\n");
    expect(keyIn(edited).key).not.toBe(keyIn(first).key);
  });

  test("a changed -D changes it, and so does an added allow-listed flag", () => {
    const base = keyIn(first).key;
    expect(keyIn(first, ["-DEXTRA"]).key).not.toBe(base);
    expect(keyIn(first, ["-Wall"]).key).not.toBe(base);
  });

  test("CPATH and friends are in the key", () => {
    const plain = keyIn(first).key;
    env.CPATH = join(first, "include");
    try {
      const keyed = keyIn(first);
      expect(keyed.components.env).toEqual(["CPATH=<WORKSPACE>/include"]);
      expect(keyed.key).not.toBe(plain);
    } finally {
      delete env.CPATH;
    }
  });

  test("a variable declared in cache.key_env_vars is in the key with its value; none declared, none", () => {
    const plain = keyIn(first);
    env.TOOL_MODE = "fast";
    try {
      expect(keyIn(first).key).toBe(plain.key);
      const declared = keyIn(first, [], ["TOOL_*"]);
      expect(declared.components.env).toEqual(["declared TOOL_*", "TOOL_MODE=fast"]);
      env.TOOL_MODE = "slow";
      expect(keyIn(first, [], ["TOOL_*"]).key).not.toBe(declared.key);
    } finally {
      delete env.TOOL_MODE;
    }
    // Declared and unset is still not the undeclared key.
    expect(keyIn(first, [], ["TOOL_*"]).key).not.toBe(plain.key);
  });

  test("the user's own prefix maps switch kache's remapping off, and the key says so", () => {
    const own = keyIn(first, [`-ffile-prefix-map=${first}=.`]);
    expect(own.components.remap).toEqual(["off: the call sets its own prefix maps"]);
    expect(keyIn(first).components.remap).toContain("prefix-map to <WORKSPACE>");
  });

  test("the components are the Rust key's (why-miss and the remote read them), unused ones empty", () => {
    const keyed = keyIn(first, ["-MD"]);
    expect(keyed.components.crate).toEqual(["language c"]);
    expect(keyed.components.flags).toContain("dep file: -MD");
    expect(keyed.components.flags).toContain("dep file: object=out/lib.o");
    expect(keyed.components.externs).toEqual([]);
    expect(keyed.components.sources[0]).toMatch(/^preprocessed [0-9a-f]{64}$/);
  });

  test("the target is the compiler's -dumpmachine unless a target flag names one", () => {
    const machine = Bun.spawnSync(["cc", "-dumpmachine"]).stdout.toString().trim();
    expect(keyIn(first).target).toBe(machine);
  });

  test("__DATE__ under the pinned epoch passes the call through", () => {
    const dir = join(root, "dated");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "d.c"), "const char *built = __DATE__;\n");
    const args = ["-c", "d.c"];
    const parsed = parseCcArgs(args, "cc");
    const normaliser = new PathNormaliser(ccRoots(dir, env));
    const keying = keyCall({
      compiler: "cc",
      args,
      parsed,
      cwd: dir,
      env,
      index,
      normaliser,
      remap: [],
      salt: "",
      keyEnvVars: [],
    });
    expect(keying).toMatchObject({ passthrough: "time-macros" });
  });
});

test("only line markers are normalised, never a string in the code", () => {
  const normaliser = new PathNormaliser([{ name: "WORKSPACE", path: "/src/app" }]);
  const text = '# 1 "/src/app/x.h" 1\nconst char *p = "/src/app/x.h";\n# 3 "/src/app/x.c" 2\n';
  expect(normaliseLineMarkers(text, normaliser)).toBe(
    '# 1 "<WORKSPACE>/x.h" 1\nconst char *p = "/src/app/x.h";\n# 3 "<WORKSPACE>/x.c" 2\n',
  );
});

test("the files the preprocessor read come from its line markers as they name them, less pseudo-files and the cwd marker", () => {
  const text =
    '# 0 "src/a.c"\n# 1 "/w//"\n# 0 "<built-in>"\n# 1 "/usr/include/stdio.h" 1 3 4\n# 2 "src/a\\"q.h" 1\n# 5 "src/a.c" 2\n';
  expect(markerNames(text)).toEqual(["src/a.c", "/usr/include/stdio.h", 'src/a"q.h']);
});
