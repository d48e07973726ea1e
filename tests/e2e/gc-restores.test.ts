// gc never breaks a restore in progress: 50 cargo builds restoring one workspace into 50 target
// dirs while `kache gc` with a 1-byte limit evicts everything, again and again. A restore whose
// blobs go mid-way falls back to compiling; every build succeeds and every binary is right.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runKache, tempHome } from "./gc-support";
import {
  type CargoResult,
  cargo,
  makeTempDir,
  newCacheDir,
  removeTempDirs,
  runBinary,
  waitForStores,
} from "./harness";

afterAll(removeTempDirs);

const BUILDS = 50;
const home = tempHome();
let workspace = "";
let cacheDir = "";

/** A library and the binary that prints what it says: two cached units, an rlib and an executable. */
function writeTinyWorkspace(dir: string): void {
  const files: Record<string, string> = {
    "Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ["lib", "app"]\n',
    "lib/Cargo.toml": '[package]\nname = "tiny_lib"\nversion = "0.1.0"\nedition = "2021"\n',
    "lib/src/lib.rs": 'pub fn message() -> String {\n    format!("tiny says {}", 6 * 7)\n}\n',
    "app/Cargo.toml":
      '[package]\nname = "tiny_app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\ntiny_lib = { path = "../lib" }\n',
    "app/src/main.rs": 'fn main() {\n    println!("{}", tiny_lib::message());\n}\n',
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

beforeAll(async () => {
  workspace = join(makeTempDir(), "tiny");
  writeTinyWorkspace(workspace);
  cacheDir = newCacheDir();
  const seed = await cargo(["build"], { cwd: workspace, cacheDir, env: home });
  expect(seed.code, seed.stderr).toBe(0);
}, 120_000);

/** Runs `kache gc` with a limit of one byte (everything goes) until `done()`; what it removed in all. */
async function evictWhile(done: () => boolean): Promise<{ runs: number; removed: number }> {
  let runs = 0;
  let removed = 0;
  while (!done()) {
    const gc = await runKache(["gc"], cacheDir, { ...home, KACHE_MAX_SIZE: "1" });
    expect(gc.code, gc.stderr).toBe(0);
    runs += 1;
    removed += Number(/removed (\d+) entr/.exec(gc.stdout)?.[1] ?? 0);
    await Bun.sleep(25); // leave the builds some CPU on a small machine
  }
  return { runs, removed };
}

test(`${BUILDS} builds restoring while gc evicts everything: all succeed and every binary is right`, async () => {
  const targets = makeTempDir("kache-e2e-targets-");
  let finished = false;
  const builds = Array.from({ length: BUILDS }, (_, i) =>
    cargo(["build", "--target-dir", join(targets, `t${i}`)], {
      cwd: workspace,
      cacheDir,
      env: home,
      waitForStores: false,
    }),
  );
  const evicting = evictWhile(() => finished);
  let results: CargoResult[];
  try {
    results = await Promise.all(builds);
  } finally {
    finished = true;
  }
  const gc = await evicting;
  await waitForStores(cacheDir);
  for (const [i, result] of results.entries()) {
    expect(result.code, result.stderr).toBe(0);
    expect(runBinary(join(targets, `t${i}`, "debug/tiny_app")).trim()).toBe("tiny says 42");
    const deps = join(targets, `t${i}`, "debug/deps");
    expect(readdirSync(deps).filter((name) => name.includes("kache-tmp"))).toEqual([]);
  }
  // The race really ran: builds restored entries while gc kept removing them.
  const hits = results.flatMap((result) => result.lines).filter((line) => line.outcome === "local hit");
  const fallbacks = results.map((result) => result.stderr.match(/compiling instead/g)?.length ?? 0);
  expect(gc.removed).toBeGreaterThan(0);
  expect(hits.length).toBeGreaterThan(0);
  console.log(
    `gc ran ${gc.runs} times and removed ${gc.removed} entries; ${hits.length} restores, ` +
      `${fallbacks.reduce((a, b) => a + b, 0)} restores fell back to compiling`,
  );
}, 300_000);
