// Units cargo compiles with no --crate-type: `harness = false` tests and benches (criterion's
// benches, custom test runners). rustc makes them binaries unless the crate root says otherwise;
// they are cached like any binary, restored executable, and a crate root that makes itself a
// library is never stored under a binary's name.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CargoResult,
  cargo,
  makeTempDir,
  newCacheDir,
  readEvents,
  removeTarget,
  removeTempDirs,
  runBinary,
  writeTree,
} from "./harness";

const TIMEOUT = 240_000;
const otherFsCacheDir = mkdtempSync("/dev/shm/kache-e2e-cache-");

afterAll(() => {
  removeTempDirs();
  rmSync(otherFsCacheDir, { recursive: true, force: true });
});

function customHarnessCrate(): string {
  return writeTree(makeTempDir("kache-e2e-harness-"), {
    "Cargo.toml": [
      '[package]\nname = "harn"\nversion = "0.1.0"\nedition = "2021"\n',
      '[[test]]\nname = "custom"\nharness = false\n',
      '[[bench]]\nname = "speed"\nharness = false\n',
    ].join("\n"),
    "src/lib.rs": "pub fn add(a: i32, b: i32) -> i32 { a + b }\n",
    "tests/custom.rs": 'fn main() { println!("custom harness: {}", harn::add(2, 3)); }\n',
    "benches/speed.rs": 'fn main() { println!("bench: {}", harn::add(4, 5)); }\n',
  });
}

async function build(cwd: string, cacheDir: string, args = ["build", "--all-targets"]): Promise<CargoResult> {
  const result = await cargo([...args, "--offline"], { cwd, cacheDir });
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/** `crate: outcome` of the no-crate-type units, sorted. */
function harnessOutcomes(result: CargoResult): string[] {
  return result.events
    .filter((event) => event.crate === "custom" || event.crate === "speed")
    .map((event) => `${event.crate}: ${event.outcome}${event.reason ? ` (${event.reason})` : ""}`)
    .sort();
}

function deps(crate: string): string {
  return join(crate, "target", "debug", "deps");
}

/** The extensionless `<name>-<hash>` files in deps: the unit's binaries. */
function binariesOf(crate: string, name: string): string[] {
  const glob = new Bun.Glob(`${name}-*`);
  return [...glob.scanSync({ cwd: deps(crate) })].filter((file) => !file.includes("."));
}

function binaryOf(crate: string, name: string): string {
  const found = binariesOf(crate, name);
  expect(found.length, `${name} binaries: ${found.join(", ")}`).toBe(1);
  return join(deps(crate), found[0]!);
}

for (const [where, cacheDirFor] of [
  ["on the target's filesystem (hardlinks)", () => newCacheDir()],
  ["on another filesystem (copies)", () => otherFsCacheDir],
] as const) {
  test(
    `harness = false tests and benches are cached and restored executable, cache ${where}`,
    async () => {
      const crate = customHarnessCrate();
      const cacheDir = cacheDirFor();
      const cold = await build(crate, cacheDir);
      expect(harnessOutcomes(cold)).toEqual(["custom: miss", "speed: miss"]);
      const ran = runBinary(binaryOf(crate, "custom"));

      removeTarget(crate);
      const warm = await build(crate, cacheDir);
      expect(harnessOutcomes(warm)).toEqual(["custom: local hit", "speed: local hit"]);
      expect(statSync(binaryOf(crate, "custom")).mode & 0o111).toBe(0o111);
      expect(runBinary(binaryOf(crate, "custom"))).toBe(ran);
      expect(runBinary(binaryOf(crate, "speed"))).toBe("bench: 9\n");
      // cargo runs the restored test binary itself, and finds nothing to recompile.
      const tested = await build(crate, cacheDir, ["test", "--test", "custom"]);
      expect(tested.stdout).toContain("custom harness: 5");
      expect(tested.compiled).toEqual([]);
    },
    TIMEOUT,
  );
}

test(
  "a harness = false target whose crate root makes itself a library is not stored as a binary",
  async () => {
    const crate = customHarnessCrate();
    // rustc builds what the crate root asks for when the call names no crate type.
    writeFileSync(join(crate, "tests", "custom.rs"), '#![crate_type = "lib"]\npub fn not_a_main() {}\n');
    const cacheDir = newCacheDir();
    const noRun = ["test", "--test", "custom", "--no-run"];
    await build(crate, cacheDir, noRun);
    // No binary came out (plain cargo's run would find none either): the compile stands, unstored.
    expect(binariesOf(crate, "custom")).toEqual([]);
    const [first] = readEvents(cacheDir).filter((event) => event.crate === "custom");
    expect(first).toMatchObject({ outcome: "miss", key: null, size: 0 });
    removeTarget(crate);
    const second = await build(crate, cacheDir, noRun);
    expect(harnessOutcomes(second)).toEqual(["custom: miss"]);
  },
  TIMEOUT,
);
