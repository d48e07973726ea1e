// How a cold cache learns which flag makes the linker write its input list (SPEC §3 item 12): the
// first link tries the likely flag itself, and only a failed link costs a probe with an empty
// program. A flag the linker refuses must never reach cargo, and must never be tried twice.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DirectRun, runDirect, toolchainRustc, writeScript } from "./compiler-support";
import { kacheEnv } from "./daemon-support";
import { KACHE_BIN, makeTempDir, newCacheDir, readEvents, removeTempDirs, runBinary } from "./harness";

afterAll(removeTempDirs);

/** A `rustc` shim that leaves a file in `log` for every linker probe kache runs through it. */
function probeCountingRustc(): { rustc: string; probes: () => number } {
  const dir = makeTempDir("kache-e2e-probes-");
  const log = join(dir, "probes");
  mkdirSync(log);
  const rustc = writeScript(join(dir, "rustc"), [
    "#!/bin/sh",
    `case "$*" in *kache_link_probe*) : >"$(mktemp "${log}/probe.XXXXXXXX")" ;; esac`,
    `exec "${toolchainRustc()}" "$@"`,
  ]);
  return { rustc, probes: () => readdirSync(log).length };
}

/** A linker (cc underneath) that refuses `--dependency-file` as old GNU ld and gold do; it counts both answers. */
function refusingLinker(): { linker: string; refused: () => number; linked: () => number } {
  const dir = makeTempDir("kache-e2e-linker-");
  mkdirSync(join(dir, "refused"));
  mkdirSync(join(dir, "linked"));
  const linker = writeScript(join(dir, "old-cc"), [
    "#!/bin/sh",
    'case "$*" in *--dependency-file*)',
    `  : >"$(mktemp "${dir}/refused/call.XXXXXXXX")"`,
    "  echo \"ld: unrecognized option '--dependency-file'\" >&2",
    "  exit 1 ;;",
    "esac",
    `[ "$1" = --version ] || : >"$(mktemp "${dir}/linked/call.XXXXXXXX")"`,
    'exec cc "$@"',
  ]);
  const count = (name: string) => () => readdirSync(join(dir, name)).length;
  return { linker, refused: count("refused"), linked: count("linked") };
}

/** `kache <rustc> <bin call>` in a new one-file bin crate, as cargo runs a binary's link. */
function linkBin(
  rustc: string,
  cacheDir: string,
  { main = 'fn main() {\n    println!("probe");\n}\n', extra = [] as string[] } = {},
): Promise<DirectRun & { dir: string }> {
  const dir = makeTempDir();
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src", "main.rs"), main);
  mkdirSync(join(dir, "out"));
  const args = ["--crate-name", "app", "--crate-type", "bin", "src/main.rs", "--out-dir", "out", ...extra];
  return runDirect(KACHE_BIN, [rustc, ...args], dir, kacheEnv(cacheDir)).then((run) => ({ ...run, dir }));
}

function memoStyles(cacheDir: string): string[] {
  const db = new Database(join(cacheDir, "index.db"), { readonly: true });
  try {
    const rows = db.query("SELECT value FROM memo WHERE name LIKE 'link-list-style|%'").all() as {
      value: string;
    }[];
    return rows.map((row) => row.value);
  } finally {
    db.close();
  }
}

describe("the first links of a cold cache", () => {
  test("learn the flag from the link itself: no probe, and the binary is cached", async () => {
    const counted = probeCountingRustc();
    const cacheDir = newCacheDir();
    const first = await linkBin(counted.rustc, cacheDir);
    expect(first.code, first.stderr).toBe(0);
    expect(runBinary(join(first.dir, "out", "app"))).toBe("probe\n");
    expect(readEvents(cacheDir).map((event) => event.outcome)).toEqual(["miss"]);
    expect(counted.probes()).toBe(0);

    // Six at once into the same cache: none probes, none fails.
    const runs = await Promise.all(Array.from({ length: 6 }, () => linkBin(counted.rustc, cacheDir)));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(counted.probes()).toBe(0);
  });

  test("a linker that refuses the flag: cargo never sees the refusal, the link passes through, later links skip the flag", async () => {
    const old = refusingLinker();
    const cacheDir = newCacheDir();
    const extra = ["-C", `linker=${old.linker}`];
    const first = await linkBin(toolchainRustc(), cacheDir, { extra });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toContain("dependency-file");
    expect(first.stderr).not.toContain("error");
    expect(runBinary(join(first.dir, "out", "app"))).toBe("probe\n");
    expect(readEvents(cacheDir).map((event) => [event.outcome, event.reason])).toEqual([
      ["passthrough", "link-inputs-unknown"],
    ]);
    expect(old.refused()).toBeGreaterThan(0);

    const refusedBefore = old.refused();
    const linkedBefore = old.linked();
    const second = await linkBin(toolchainRustc(), cacheDir, { extra });
    expect(second.code, second.stderr).toBe(0);
    expect(old.refused()).toBe(refusedBefore);
    expect(old.linked()).toBe(linkedBefore + 1);
    expect(readEvents(cacheDir).at(-1)).toMatchObject({
      outcome: "passthrough",
      reason: "link-inputs-unknown",
    });
  });

  test("a first link that fails on its own: its error reaches cargo once, and one probe learns the flag", async () => {
    const counted = probeCountingRustc();
    const cacheDir = newCacheDir();
    const broken = 'fn main() {\n    let n: u32 = "four";\n    println!("{n}");\n}\n';
    const failed = await linkBin(counted.rustc, cacheDir, { main: broken });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr.split("mismatched types").length - 1).toBe(1);
    expect(counted.probes()).toBe(1);
    expect(memoStyles(cacheDir)).toEqual(["gnu-cc"]);

    const fixed = await linkBin(counted.rustc, cacheDir);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(counted.probes()).toBe(1);
    expect(readFileSync(join(cacheDir, "events.jsonl"), "utf8")).toContain('"outcome":"miss"');
  });
});
