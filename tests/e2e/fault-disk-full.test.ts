// A cache dir whose filesystem fills up: its own small tmpfs, mounted in a private mount namespace
// (`unshare -rm`, so no root is needed and nothing outside sees it). A build must succeed with the
// right program, say what it could not store, and leave no half-copied file behind in the little
// space there is; gc must free the disk even though SQLite cannot open the index on it.
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cargoEnv, copyFixture, KACHE_BIN, makeTempDir, PATH_WS_OUTPUT, removeTempDirs } from "./harness";
import { runCollected } from "./run-collected";

afterAll(removeTempDirs);

/**
 * Runs `script` in a private mount namespace with the cache on a tmpfs of `sizeMb`, in a copy of
 * path-ws; the script writes what it finds into $REPORT (the mount dies with the namespace).
 * Stores happen in the wrapper, so that everything has happened when the script looks.
 */
async function onSmallDisk(sizeMb: number, script: string, extraEnv: Record<string, string> = {}) {
  const workspace = copyFixture("path-ws");
  const cacheDir = makeTempDir("kache-e2e-full-cache-");
  const report = makeTempDir("kache-e2e-full-report-");
  const env = {
    ...cargoEnv({ cwd: workspace, cacheDir }),
    KACHE_BACKGROUND_STORE: "never",
    ...extraEnv,
    WORKSPACE: workspace,
    REPORT: report,
    KACHE: KACHE_BIN,
  };
  const mounted = `set -u\nmount -t tmpfs -o size=${sizeMb}m,mode=700 tmpfs "$KACHE_CACHE_DIR"\ncd "$WORKSPACE"\n${script}`;
  const run = await runCollected(["unshare", "-rm", "sh", "-c", mounted], { env, timeoutMs: 180_000 });
  const read = (name: string) => readFileSync(join(report, name), "utf8").trim();
  return { cacheDir, run, read };
}

/** A build, then what the cache holds. */
const SCRIPT = `cargo build --locked
echo "$?" > "$REPORT/build-status"
./target/debug/fixture_app > "$REPORT/app-output"
find "$KACHE_CACHE_DIR/staging" -mindepth 1 -maxdepth 1 > "$REPORT/staging" 2>/dev/null
find "$KACHE_CACHE_DIR/store" -name '.tmp-*' > "$REPORT/temps" 2>/dev/null
"$KACHE" doctor --verify > "$REPORT/doctor" 2>&1
`;

test("a cache filesystem that fills up mid-build: the build succeeds and nothing half-written stays", async () => {
  const { cacheDir, run, read } = await onSmallDisk(6, SCRIPT);
  expect(read("build-status"), run.stderr).toBe("0");
  expect(read("app-output")).toBe(PATH_WS_OUTPUT.join("\n"));
  // The disk really filled: units could not be stored, and the build said so once, not per unit.
  const warnings = run.stderr.split("\n").filter((line) => line.startsWith("kache warn"));
  expect(warnings.length, run.stderr).toBe(1);
  expect(warnings[0]).toMatch(
    new RegExp(
      `^kache warn: could not store \\S+: the disk holding ${cacheDir} is full \\(run \`kache gc\`, which makes room first\\); the build is unaffected$`,
    ),
  );
  expect(read("staging")).toBe("");
  expect(read("temps")).toBe("");
  const doctor = read("doctor");
  expect(doctor).toMatch(/^ok +blobs: re-hashed \d+ blobs? .*each matches its name$/m);
  expect(doctor).toMatch(/^ok +entries: all \d+ entr(y|ies) have their blobs, whole$/m);
}, 240_000);

test("a background store the full disk stopped: the build succeeds, and doctor names it from store.log", async () => {
  // The stores run on after cargo: doctor reads store.log once the last of them is gone.
  const waited = SCRIPT.replace(
    '"$KACHE" doctor',
    'for i in $(seq 300); do [ -z "$(ls -A "$KACHE_CACHE_DIR/staging" 2>/dev/null)" ] && break; sleep 0.1; done\n"$KACHE" doctor',
  );
  const { run, read } = await onSmallDisk(6, waited, { KACHE_BACKGROUND_STORE: "always" });
  expect(read("build-status"), run.stderr).toBe("0");
  expect(read("app-output")).toBe(PATH_WS_OUTPUT.join("\n"));
  // The wrapper had returned to cargo: only doctor can tell the user those units were not cached.
  expect(read("doctor")).toMatch(
    /^warn +background stores: \d+ failed in the last day \(their units were not cached\); the latest: \S+: .*\(see .*store\.log\)$/m,
  );
}, 240_000);

/** A warm cache, then the disk filled to the last byte by something else; then what kache says. */
const GC_SCRIPT = `cargo build --locked 2> "$REPORT/cold-stderr"
dd if=/dev/zero of="$KACHE_CACHE_DIR/filler" bs=64k 2>/dev/null
"$KACHE" stats > "$REPORT/stats-full" 2>&1; echo "$?" > "$REPORT/stats-full-status"
"$KACHE" clean --dry-run > "$REPORT/clean" 2>&1; echo "$?" > "$REPORT/clean-status"
rm -rf target
cargo build --locked 2> "$REPORT/full-stderr"; echo "$?" > "$REPORT/full-status"
"$KACHE" gc > "$REPORT/gc" 2>&1; echo "$?" > "$REPORT/gc-status"
"$KACHE" stats > "$REPORT/stats-after" 2>&1; echo "$?" > "$REPORT/stats-after-status"
"$KACHE" doctor --verify > "$REPORT/doctor" 2>&1
rm -rf target
cargo build --locked 2> "$REPORT/warm-stderr"; echo "$?" > "$REPORT/warm-status"
./target/debug/fixture_app > "$REPORT/app-output"
`;

test("on a full disk builds warn once and compile, gc makes room without the index, other commands say why", async () => {
  const { cacheDir, run, read } = await onSmallDisk(12, GC_SCRIPT, { KACHE_PROGRESS: "never" });
  expect(read("stats-full-status"), run.stderr).toBe("1");
  expect(read("stats-full")).toBe(
    `kache: error: the disk holding ${cacheDir} is full: the index cannot be opened (free some space, or run \`kache gc\`, which makes room first)`,
  );
  // Deleting target dirs is one way to get room back: kache clean finds them without the index.
  expect(read("clean-status"), read("clean")).toBe("0");
  expect(read("clean")).toMatch(/ 1 target dir$/m);
  // Every unit compiles uncached on the full disk. The disk's being full is said once a minute,
  // however it shows (a store that failed in the first build, the index in the second).
  expect(read("full-status"), read("full-stderr")).toBe("0");
  const warnings = `${read("cold-stderr")}\n${read("full-stderr")}`
    .split("\n")
    .filter((line) => line.startsWith("kache warn"));
  expect(warnings.length, warnings.join("\n")).toBe(1);
  expect(warnings[0]).toContain(`the disk holding ${cacheDir} is full`);
  expect(read("gc-status"), read("gc")).toBe("0");
  expect(read("gc")).toMatch(
    /^the disk was full \(0 B free\): removed \d+ leftovers? of stores and [1-9]\d* blobs? /,
  );
  expect(read("gc")).toMatch(/removed [1-9]\d* (entry|entries) \(\d+ broken\)/);
  expect(read("stats-after-status"), read("stats-after")).toBe("0");
  expect(read("doctor")).toMatch(/^ok +entries: all \d+ entr(y|ies) have their blobs, whole$/m);
  expect(read("warm-status"), read("warm-stderr")).toBe("0");
  expect(read("app-output")).toBe(PATH_WS_OUTPUT.join("\n"));
}, 240_000);
