// The release build (SPEC §12): `build.ts --release` writes the four platforms' binaries, their SHA256SUMS
// and the Homebrew formula made from those sums; `file`, `sha256sum -c`, `ruby -c` and a Ruby test check them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { formulaFromSums } from "../../build-formula";
import { makeTempDir, REPO_ROOT, removeTempDirs } from "./harness";

const VERSION: string = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version;
const HOST_ASSET = `kache-linux-${process.arch === "arm64" ? "arm64" : "x64"}`;
// What `file -b` says of each asset, start to end of the part that names the platform.
const FILE_TYPES: Record<string, RegExp> = {
  "kache-linux-x64": /^ELF 64-bit LSB executable, x86-64,/,
  "kache-linux-arm64": /^ELF 64-bit LSB executable, ARM aarch64,/,
  "kache-darwin-x64": /^Mach-O 64-bit x86_64 executable/,
  "kache-darwin-arm64": /^Mach-O 64-bit arm64 executable/,
};

let outDir = "";
let formula = "";
let firstSums = "";

/** Runs a command; `home` gives it a temp HOME (kache itself), else the build keeps Bun's runtime cache in ~. */
function run(argv: string[], cwd = REPO_ROOT, home?: string) {
  const env = home ? { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, ".config") } : process.env;
  const result = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe", env });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

function release(): void {
  const started = performance.now();
  const result = run([
    process.execPath,
    "run",
    "build.ts",
    "--release",
    "--out",
    outDir,
    "--formula",
    formula,
  ]);
  if (result.code !== 0) throw new Error(`release build failed (exit ${result.code}):\n${result.stderr}`);
  console.log(`release build: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

beforeAll(() => {
  outDir = makeTempDir("kache-e2e-release-");
  formula = join(outDir, "Formula", "kache.rb");
  release();
  firstSums = readFileSync(join(outDir, "SHA256SUMS"), "utf8");
}, 300_000);
afterAll(removeTempDirs);

test("four binaries, one per platform, and nothing else but the sums and the formula", () => {
  expect(readdirSync(outDir).sort()).toEqual(["Formula", "SHA256SUMS", ...Object.keys(FILE_TYPES).sort()]);
  for (const [asset, type] of Object.entries(FILE_TYPES)) {
    const described = run(["file", "-b", join(outDir, asset)]);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(type);
  }
});

test("SHA256SUMS is sha256sum's format and `sha256sum -c` passes", () => {
  const lines = firstSums.trimEnd().split("\n");
  expect(lines.map((line) => line.replace(/^[0-9a-f]{64} {2}/, "")).sort()).toEqual(
    Object.keys(FILE_TYPES).sort(),
  );
  const checked = run(["sha256sum", "-c", "SHA256SUMS"], outDir);
  expect(checked.stderr).toBe("");
  expect(checked.code).toBe(0);
  expect(checked.stdout.trimEnd().split("\n").sort()).toEqual(
    Object.keys(FILE_TYPES)
      .map((a) => `${a}: OK`)
      .sort(),
  );
});

test("the host's Linux binary reports package.json's version", () => {
  const version = run([join(outDir, HOST_ASSET), "--version"], REPO_ROOT, makeTempDir("kache-e2e-home-"));
  expect(version.stderr).toBe("");
  expect(version.stdout.trim()).toBe(`kache ${VERSION}`);
});

test("the formula is valid Ruby and matches the release (ruby test against stub DSL methods)", () => {
  const syntax = run(["ruby", "-c", formula]);
  expect(syntax.stdout.trim()).toBe("Syntax OK");
  const sums = join(outDir, "SHA256SUMS");
  const checked = run([
    "ruby",
    join(REPO_ROOT, "tests/ruby/formula_test.rb"),
    formula,
    sums,
    VERSION,
    HOST_ASSET,
  ]);
  expect(checked.stderr).toBe("");
  expect(checked.stdout.trim()).toBe("formula_test: ok (4 platforms, service, test do)");
  expect(checked.code).toBe(0);
});

test("the formula generator refuses sums that miss a platform or are not sha256sum lines", () => {
  const withoutOne = firstSums
    .split("\n")
    .filter((line) => !line.endsWith("kache-darwin-arm64"))
    .join("\n");
  expect(() => formulaFromSums(withoutOne, { version: VERSION })).toThrow(
    "SHA256SUMS has no kache-darwin-arm64: the formula needs all four platforms",
  );
  expect(() => formulaFromSums(`${firstSums}not a checksum\n`, { version: VERSION })).toThrow(
    "SHA256SUMS: not a sha256sum line: not a checksum",
  );
});

test("the repo's Formula/kache.rb is generated, so git ignores it (a release leaves git status clean)", () => {
  expect(run(["git", "check-ignore", "-q", "Formula/kache.rb"]).code).toBe(0);
  expect(run(["git", "check-ignore", "-q", "dist/release/SHA256SUMS"]).code).toBe(0);
});

test("building the release again over it gives the same bytes and leaves no temp files", () => {
  release();
  expect(readFileSync(join(outDir, "SHA256SUMS"), "utf8")).toBe(firstSums);
  expect(readdirSync(outDir).sort()).toEqual(["Formula", "SHA256SUMS", ...Object.keys(FILE_TYPES).sort()]);
  expect(readdirSync(join(outDir, "Formula"))).toEqual(["kache.rb"]);
}, 300_000);
