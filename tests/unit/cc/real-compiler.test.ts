// findRealCompiler: the real compiler next on PATH, skipping kache however often it appears.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findRealCompiler, noCompilerMessage, userCompiler } from "../../../src/cc/real-compiler";

const root = mkdtempSync(join(tmpdir(), "kache-real-cc-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function executable(path: string, text = "#!/bin/sh\nexit 0\n"): string {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
  return path;
}

const kache = executable(join(root, "kache"));
const shims = join(root, "shims");
const realDir = join(root, "real");
mkdirSync(shims);
mkdirSync(realDir);
for (const name of ["cc", "gcc", "c++"]) symlinkSync(kache, join(shims, name));
const realCc = executable(join(realDir, "cc"));

describe("findRealCompiler", () => {
  test("a shim dir listed twice is passed over", () => {
    const env = { PATH: `${shims}:${shims}:${realDir}` };
    expect(findRealCompiler("cc", env, kache)).toBe(realCc);
  });

  test("a shim named by path is kache: its name is looked up on PATH", () => {
    const env = { PATH: `${shims}:${realDir}` };
    expect(findRealCompiler(join(shims, "cc"), env, kache)).toBe(realCc);
  });

  test("a real compiler named by path is used as is", () => {
    expect(findRealCompiler(realCc, { PATH: "" }, kache)).toBe(realCc);
  });

  test("nothing but kache on PATH gives null", () => {
    expect(findRealCompiler("cc", { PATH: `${shims}:${shims}` }, kache)).toBeNull();
    expect(findRealCompiler("gcc", { PATH: `${shims}:${realDir}` }, kache)).toBeNull();
    expect(findRealCompiler(join(root, "missing"), { PATH: realDir }, kache)).toBeNull();
  });

  test("a directory or a file without the execute bit is no compiler", () => {
    const odd = join(root, "odd");
    mkdirSync(join(odd, "cc"), { recursive: true });
    writeFileSync(join(odd, "gcc"), "");
    expect(findRealCompiler("cc", { PATH: `${odd}:${realDir}` }, kache)).toBe(realCc);
    expect(findRealCompiler("gcc", { PATH: odd }, kache)).toBeNull();
  });

  test("the message names the compiler", () => {
    expect(noCompilerMessage("c++")).toBe("kache: no real c++ found on PATH after kache's shims");
  });
});

describe("userCompiler: CC set by the user still wins over the CC_<target> key that names a shim", () => {
  const clang = executable(join(realDir, "clang"));
  const target = "x86_64-unknown-linux-gnu";
  const base = { PATH: `${shims}:${realDir}`, TARGET: target };

  test("the key names a shim and CC names a real compiler: CC's compiler", () => {
    const env = { ...base, [`CC_${target}`]: join(shims, "cc"), CC: "clang" };
    expect(userCompiler("c", env, kache)).toEqual({ wanted: "clang", found: clang });
    const underscored = { ...base, CC_x86_64_unknown_linux_gnu: join(shims, "cc"), CC: clang };
    expect(userCompiler("c", underscored, kache)).toEqual({ wanted: clang, found: clang });
  });

  test("CC names a compiler that is not installed: not found, never the shim's cc instead", () => {
    const env = { ...base, [`CC_${target}`]: join(shims, "cc"), CC: "clang-99" };
    expect(userCompiler("c", env, kache)).toEqual({ wanted: "clang-99", found: null });
  });

  test("C++ reads CXX, not CC", () => {
    const env = { ...base, [`CXX_${target}`]: join(shims, "c++"), CC: "clang" };
    expect(userCompiler("c++", env, kache)).toBeNull();
  });

  test("no key, a key that is not kache, CC naming kache, or CC with words: no override", () => {
    expect(userCompiler("c", { ...base, CC: "clang" }, kache)).toBeNull();
    expect(userCompiler("c", { ...base, [`CC_${target}`]: realCc, CC: "clang" }, kache)).toBeNull();
    expect(
      userCompiler("c", { ...base, [`CC_${target}`]: join(shims, "cc"), CC: join(shims, "gcc") }, kache),
    ).toBeNull();
    expect(
      userCompiler("c", { ...base, [`CC_${target}`]: join(shims, "cc"), CC: "ccache clang" }, kache),
    ).toBeNull();
    expect(
      userCompiler("c", { PATH: base.PATH, [`CC_${target}`]: join(shims, "cc"), CC: "clang" }, kache),
    ).toBeNull();
  });
});
