// The C/C++ key with the real gcc: portable across checkouts, sensitive to headers, defines and remapping.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCcArgs } from "../../../src/cc/cc-args";
import { ccRoots } from "../../../src/cc/cc-flow";
import { type CcKey, keyCall, remapFlags } from "../../../src/cc/cc-key";
import { normaliseLineMarkers } from "../../../src/cc/preprocess";
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

const env = { PATH: process.env.PATH, HOME: join(root, "home"), TMPDIR: tmpdir() };

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

function keyIn(dir: string, extra: string[] = []): CcKey {
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
  const keying = keyCall({ compiler: "cc", args, parsed, cwd: dir, env, index, normaliser, remap });
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

  test("the user's own prefix maps switch kache's remapping off, and the key says so", () => {
    const own = keyIn(first, [`-ffile-prefix-map=${first}=.`]);
    expect(own.components.remap).toEqual(["off: the call sets its own prefix maps"]);
    expect(keyIn(first).components.remap).toContain("prefix-map to <WORKSPACE>");
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
    const keying = keyCall({ compiler: "cc", args, parsed, cwd: dir, env, index, normaliser, remap: [] });
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
