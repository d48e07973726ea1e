// `kache stats`, `list`, `why-miss` and `report` on one real build history of path-ws (cold build,
// warm rebuild after removing target/, an edit to fixture_core), checked against events.jsonl and the index.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CargoResult,
  cargo,
  copyFixture,
  makeTempDir,
  newCacheDir,
  readEvents,
  removeTarget,
  removeTempDirs,
} from "./harness";
import {
  copyEvents,
  ESCAPE,
  type EventsEdit,
  isHit,
  kacheJson,
  markdownTables,
  num,
  readIndexRows,
  runKache,
  runOnTerminal,
  storeBytes,
} from "./insight-support";

let workspace: string;
let cacheDir: string;
let home: string;
const builds: Record<"cold" | "warm" | "edited", CargoResult> = {} as never;

beforeAll(async () => {
  workspace = copyFixture("path-ws");
  cacheDir = newCacheDir();
  home = makeTempDir("kache-e2e-home-");
  builds.cold = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
  removeTarget(workspace);
  builds.warm = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
  const util = join(workspace, "core/src/util.rs");
  writeFileSync(util, readFileSync(util, "utf8").replace("util says hi", "util says what"));
  builds.edited = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
  for (const build of Object.values(builds)) expect(build.code, build.stderr).toBe(0);
}, 300_000);

afterAll(removeTempDirs);

const kache = (args: string[], env: Record<string, string> = {}, dir = cacheDir) =>
  runKache(home, dir, args, env);
const json = (args: string[], env: Record<string, string> = {}, dir = cacheDir) =>
  kacheJson(home, dir, args, env);
const indexRows = () => readIndexRows(cacheDir);
const eventsCopy = (edit: EventsEdit) => copyEvents(cacheDir, edit);
const onTerminal = (args: string[], env: Record<string, string> = {}) =>
  runOnTerminal(home, cacheDir, args, env);

describe("stats", () => {
  test("--json figures match events.jsonl and the index", () => {
    const events = readEvents(cacheDir);
    const stats = json(["stats", "--json"]);
    const hits = events.filter(isHit);
    const misses = events.filter((event) => event.outcome === "miss");
    const passthroughs = events.filter((event) => event.outcome === "passthrough");
    expect(stats.schema_version).toBe(1);
    expect(stats.events.count).toBe(events.length);
    expect(stats.hits.total).toBe(hits.length);
    expect(stats.hits.local).toBe(events.filter((event) => event.outcome === "local hit").length);
    expect(stats.misses).toBe(misses.length);
    // The history itself: every unit missed cold and hit warm; the edit missed fixture_core and the relink.
    expect(stats.hits.total).toBe(builds.warm.events.length);
    expect(stats.misses).toBe(builds.cold.events.length + 2);
    expect(
      builds.edited.events
        .filter((event) => event.outcome === "miss")
        .map((e) => e.crate)
        .sort(),
    ).toEqual(["fixture_app", "fixture_core"]);
    const reasons: Record<string, number> = {};
    for (const event of passthroughs)
      reasons[String(event.reason)] = (reasons[String(event.reason)] ?? 0) + 1;
    expect(stats.passthroughs).toEqual({ total: passthroughs.length, by_reason: reasons });
    // Summed as stats sums, each hit's saving first: in floating point the order changes the last
    // digit, and a total on a half millisecond then rounds either way.
    const saved = Math.round(
      hits.reduce((sum, event) => sum + (num(event.compile_ms) - num(event.elapsed_ms)), 0),
    );
    expect(stats.time_saved_ms).toBe(saved);
    expect(saved).toBeGreaterThan(0);
    const linked = hits.reduce((sum, event) => sum + num(event.linked_bytes), 0);
    expect(stats.hardlink_saved_bytes).toBe(linked);
    // rlibs and rmetas come back as links; executables are always copied.
    expect(linked).toBeGreaterThan(0);
    expect(linked).toBeLessThan(stats.bytes.hits);
    const hitBytes = hits.reduce((sum, event) => sum + num(event.size), 0);
    const missBytes = misses.reduce((sum, event) => sum + num(event.size), 0);
    expect(stats.bytes).toEqual({ hits: hitBytes, misses: missBytes });
    expect(stats.hit_rate.count).toBeCloseTo(hits.length / (hits.length + misses.length), 3);
    expect(stats.hit_rate.size).toBeCloseTo(hitBytes / (hitBytes + missBytes), 3);
    const hitCompile = hits.reduce((sum, event) => sum + num(event.compile_ms), 0);
    const missCompile = misses.reduce((sum, event) => sum + num(event.compile_ms), 0);
    expect(stats.hit_rate.time).toBeCloseTo(hitCompile / (hitCompile + missCompile), 3);
  });

  test("--json store figures match the index and the blobs on disk", () => {
    const rows = indexRows();
    const { store } = json(["stats", "--json"]);
    expect(store.entries).toBe(rows.length);
    expect(store.entries).toBe(builds.cold.events.length + 2);
    expect(store.entry_bytes).toBe(rows.reduce((sum, row) => sum + row.size, 0));
    expect(store.blob_bytes).toBe(storeBytes(cacheDir));
    const distinct = new Map<string, number>();
    for (const row of rows)
      for (const file of JSON.parse(row.files))
        distinct.set(`${file.blob}${file.executable ? ".x" : ""}`, file.size);
    const distinctBytes = [...distinct.values()].reduce((sum, size) => sum + size, 0);
    expect(store.dedup_saved_bytes).toBe(store.entry_bytes - distinctBytes);
    // The edit left every dep-info and the untouched rmeta identical: the store holds them once.
    expect(store.dedup_saved_bytes).toBeGreaterThan(0);
    expect(store.limit_bytes).toBe(50 * 1024 ** 3);
    expect(json(["stats", "--json"], { KACHE_MAX_SIZE: "1GiB" }).store.limit_bytes).toBe(1024 ** 3);
  });

  test("--json has every documented field", () => {
    const stats = json(["stats", "--json"]);
    for (const field of [
      "schema_version",
      "generated_at",
      "cache_dir",
      "since",
      "events",
      "store",
      "hits",
      "misses",
      "passthroughs",
      "hit_rate",
      "time_saved_ms",
      "hardlink_saved_bytes",
      "bytes",
      "compile_ms",
      "transfers",
    ])
      expect(stats).toHaveProperty(field);
    for (const field of [
      "entries",
      "location_bound",
      "limit_bytes",
      "blob_bytes",
      "blob_files",
      "used_ratio",
      "entry_bytes",
      "dedup_saved_bytes",
      "index_bytes",
    ])
      expect(stats.store).toHaveProperty(field);
    expect(Object.keys(stats.hit_rate).sort()).toEqual(["count", "size", "time"]);
    expect(stats.transfers).toEqual({
      remote_hits: { count: 0, bytes: 0 },
      prefetch_hits: { count: 0, bytes: 0 },
      uploads_pending: 0,
      daemon: null,
    });
    expect(stats.cache_dir).toBe(cacheDir);
    expect(stats.since).toBeNull();
  });

  test("text output names the figures, without colour when stdout is no terminal", () => {
    const run = kache(["stats"]);
    expect(run.code, run.stderr).toBe(0);
    const stats = json(["stats", "--json"]);
    expect(run.stdout).toContain(`${stats.store.entries} entries`);
    expect(run.stdout).toMatch(new RegExp(`hits: +${stats.hits.total} \\(local ${stats.hits.local}`));
    expect(run.stdout).toMatch(new RegExp(`misses: +${stats.misses}\\n`));
    expect(run.stdout).toContain("by compile time");
    expect(run.stdout).not.toContain(ESCAPE);
  });

  test("--since leaves out older events; a bad duration is a usage error", async () => {
    await Bun.sleep(1100);
    const recent = json(["stats", "--since", "1s", "--json"]);
    expect(recent.events.count).toBe(0);
    expect(recent.hits.total).toBe(0);
    expect(recent.hit_rate.count).toBeNull();
    expect(Date.parse(recent.since)).toBeGreaterThan(Date.now() - 10_000);
    expect(recent.store.entries).toBe(indexRows().length); // the store is shown as it is now
    const bad = kache(["stats", "--since", "yesterday"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("30m, 24h, 7d");
  });
});

describe("event log", () => {
  test("--since counts only events after the cut-off (old timestamps in a copy of events.jsonl)", () => {
    const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
    let aged = 0;
    const dir = eventsCopy((lines) => ({
      current: `${lines
        .map((line, i) => {
          if (i % 2 === 1) return line;
          aged += 1;
          return JSON.stringify({ ...JSON.parse(line), time: old });
        })
        .join("\n")}\n`,
    }));
    const all = readEvents(cacheDir).length;
    expect(json(["stats", "--json"], {}, dir).events.count).toBe(all);
    expect(json(["stats", "--since", "2d", "--json"], {}, dir).events.count).toBe(all - aged);
    expect(json(["report", "--format", "json", "--since", "4d"], {}, dir).events.count).toBe(all);
  });

  test("a rotated events.jsonl.1 is read first; a torn last line and unknown fields are tolerated", () => {
    const dir = eventsCopy((lines) => ({
      rotated: `${lines.slice(0, 3).join("\n")}\n`,
      current: `${lines
        .slice(3)
        .map((line) => JSON.stringify({ ...JSON.parse(line), from_the_future: { x: 1 } }))
        .join("\n")}\n{"time":"2020-01-01T00:00:00.000Z","crate":"torn","outc`,
    }));
    const stats = json(["stats", "--json"], {}, dir);
    const original = json(["stats", "--json"]);
    expect(stats.events).toEqual(original.events);
    expect(stats.hits).toEqual(original.hits);
    expect(stats.misses).toBe(original.misses);
    expect(stats.time_saved_ms).toBe(original.time_saved_ms);
    expect(stats.store.entries).toBe(0);
  });
});

describe("list", () => {
  test("the table has one row per entry, sorted by each order", () => {
    const rows = indexRows();
    for (const sort of ["name", "size", "hits", "age"]) {
      const { entries } = json(["list", "--sort", sort, "--json"]);
      expect(entries.length).toBe(rows.length);
      const values = entries.map((entry: Record<string, unknown>) => {
        if (sort === "name") return entry.crate;
        if (sort === "age") return Date.parse(String(entry.last_used));
        return entry[sort];
      });
      const sorted = [...values].sort((a, b) =>
        sort === "name" ? String(a).localeCompare(String(b)) : Number(b) - Number(a),
      );
      expect(values).toEqual(sorted);
      const table = kache(["list", "--sort", sort]);
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^CRATE +TYPES +TARGET +PROFILE +SIZE +HITS +LAST USED$/);
      expect(lines.slice(1).map((line) => line.split(/ +/)[0])).toEqual(
        entries.map((entry: { crate: string }) => entry.crate),
      );
      expect(table.stdout).not.toContain(ESCAPE);
    }
    const bySize = json(["list", "--sort", "size", "--json"]).entries;
    expect(bySize[0].size).toBeGreaterThan(bySize.at(-1).size);
    const hits = Object.fromEntries(rows.map((row) => [row.key, row.hits]));
    for (const entry of bySize) expect(entry.hits).toBe(hits[entry.key]);
    const bad = kache(["list", "--sort", "colour"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("name, size, hits, age");
  });

  test("list CRATE shows each of its entries in detail", () => {
    const rows = indexRows().filter((row) => row.crate === "fixture_core");
    expect(rows.length).toBe(2);
    const run = kache(["list", "fixture-core"]); // cargo's package spelling finds rustc's crate
    expect(run.code, run.stderr).toBe(0);
    for (const row of rows) {
      expect(run.stdout).toContain(`key:          ${row.key}`);
      for (const file of JSON.parse(row.files)) expect(run.stdout).toContain(file.name);
    }
    for (const label of [
      "crate types:  lib",
      "target:",
      "profile:      debug",
      "features:     default",
      "size:",
      "hits:",
      "created:",
      "last used:",
      "location:     portable",
    ])
      expect(run.stdout).toContain(label);
    const { entries } = json(["list", "fixture_core", "--json"]);
    expect(entries.map((entry: { key: string }) => entry.key).sort()).toEqual(
      rows.map((row) => row.key).sort(),
    );
    for (const field of [
      "key",
      "crate",
      "crate_types",
      "target",
      "profile",
      "features",
      "size",
      "hits",
      "compile_ms",
      "created",
      "last_used",
      "bound_to",
      "files",
    ])
      expect(entries[0]).toHaveProperty(field);
    expect(entries[0].bound_to).toBeNull();
    const unknown = kache(["list", "no_such_crate"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no entries for no_such_crate");
  });
});

describe("why-miss", () => {
  test("after the edit it names the changed source file", () => {
    const run = kache(["why-miss", "fixture_core"]);
    expect(run.code, run.stderr).toBe(0);
    const missKey = String(builds.edited.events.find((event) => event.crate === "fixture_core")!.key);
    expect(run.stdout).toContain(`key ${missKey.slice(0, 12)}`);
    const earlier = String(builds.cold.events.find((event) => event.crate === "fixture_core")!.key);
    expect(run.stdout).toContain(`nearest earlier entry: ${earlier.slice(0, 12)}`);
    expect(run.stdout).toContain("sources: source files");
    expect(run.stdout).toMatch(/changed core\/src\/util\.rs: [0-9a-f]{12} -> [0-9a-f]{12}/);
    expect(run.stdout).not.toContain("cfg:");
    expect(run.stdout).not.toContain("lib.rs");
    // The binary relinked because the rlib it reads changed.
    const app = kache(["why-miss", "fixture_app"]).stdout;
    expect(app).toContain("link_inputs:");
    expect(app).toMatch(/changed <TARGET>\/debug\/deps\/libfixture_core-[0-9a-f]+\.rlib/);
  });

  test("says so when there is nothing to compare with, no miss, or no such crate", () => {
    const only = kache(["why-miss", "fixture_noisy"]);
    expect(only.code).toBe(0);
    expect(only.stdout).toContain("first entry: nothing earlier to compare it with");
    const dir = eventsCopy((lines) => ({
      current: `${lines.filter((line) => JSON.parse(line).outcome !== "miss").join("\n")}\n`,
    }));
    const noMiss = kache(["why-miss", "fixture_noisy"], {}, dir);
    expect(noMiss.code).toBe(0);
    expect(noMiss.stdout).toContain("fixture_noisy: no miss recorded");
    const unknown = kache(["why-miss", "no_such_crate"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("nothing recorded for no_such_crate");
  });
});

describe("report", () => {
  test("json carries the schema version, per-crate figures matching the events, and the slowest misses", () => {
    const report = json(["report", "--format", "json"]);
    expect(report.schema_version).toBe(1);
    const events = readEvents(cacheDir).filter((event) => event.crate);
    const crates = new Map<string, { hits: number; misses: number }>();
    for (const event of events) {
      const crate = crates.get(String(event.crate)) ?? { hits: 0, misses: 0 };
      if (isHit(event)) crate.hits += 1;
      if (event.outcome === "miss") crate.misses += 1;
      crates.set(String(event.crate), crate);
    }
    for (const [name, counts] of crates)
      expect(report.crates.find((crate: { crate: string }) => crate.crate === name)).toMatchObject(counts);
    expect(report.crates.find((crate: { crate: string }) => crate.crate === "fixture_core")).toMatchObject({
      hits: 1,
      misses: 2,
    });
    const slowest = readEvents(cacheDir)
      .filter((event) => event.outcome === "miss")
      .map((event) => num(event.compile_ms))
      .sort((a, b) => b - a);
    expect(report.slowest_misses.map((miss: { compile_ms: number }) => miss.compile_ms)).toEqual(
      slowest.slice(0, 10),
    );
    for (const field of ["store", "transfers", "hits", "misses", "hit_rate", "time_saved_ms"])
      expect(report).toHaveProperty(field);
  });

  test("text and markdown show the same crates; markdown as tables", () => {
    const crates = json(["report", "--format", "json"]).crates.map((crate: { crate: string }) => crate.crate);
    const text = kache(["report"]);
    expect(text.code, text.stderr).toBe(0);
    for (const heading of ["Summary", "Crates", "Slowest misses", "Transfers", "Store"])
      expect(text.stdout).toContain(heading);
    for (const crate of crates) expect(text.stdout).toMatch(new RegExp(`^${crate} +\\d+ +\\d+`, "m"));
    const markdown = kache(["report", "--format", "markdown"]);
    expect(markdown.code).toBe(0);
    const tables = markdownTables(markdown.stdout);
    expect(tables.length).toBe(2); // per crate, slowest misses
    expect(tables[0]![0]).toBe(
      "| crate | hits | misses | passed through | hit rate | time saved | miss compile time |",
    );
    expect(tables[0]!.slice(1).map((row) => row.split(" | ")[0]!.slice(2))).toEqual(crates);
    expect(markdown.stdout).not.toContain("<details>");
  });

  test("github appends to $GITHUB_STEP_SUMMARY and renders the crate table", () => {
    const summary = join(makeTempDir("kache-e2e-summary-"), "step_summary.md");
    writeFileSync(summary, "# an earlier step\n\nits text\n");
    const run = kache(["report", "--format", "github"], { GITHUB_STEP_SUMMARY: summary });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("");
    const first = readFileSync(summary, "utf8");
    expect(first.startsWith("# an earlier step\n\nits text\n")).toBe(true);
    expect(first).toContain("## kache build report");
    expect(first).toContain("<details><summary>Crates");
    expect(markdownTables(first).length).toBe(2);
    kache(["report", "--format", "github"], { GITHUB_STEP_SUMMARY: summary });
    const second = readFileSync(summary, "utf8");
    expect(second.startsWith(first)).toBe(true);
    expect(second.split("## kache build report").length).toBe(3);
    // Without the variable it goes to stdout.
    expect(markdownTables(kache(["report", "--format", "github"]).stdout).length).toBe(2);
  });

  test("--output writes the file (replacing it whole) and nothing to stdout; a bad format is a usage error", () => {
    const dir = makeTempDir("kache-e2e-report-");
    const output = join(dir, "report.json");
    writeFileSync(output, "old contents that are longer than nothing");
    const summary = join(dir, "summary.md");
    const run = kache(["report", "--format", "json", "--output", output], { GITHUB_STEP_SUMMARY: summary });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("");
    expect(JSON.parse(readFileSync(output, "utf8")).schema_version).toBe(1);
    expect(existsSync(summary)).toBe(false);
    expect(readdirSync(dir)).toEqual(["report.json"]); // no temp file left beside it
    const github = join(dir, "report.md");
    expect(
      kache(["report", "--format", "github", "--output", github], { GITHUB_STEP_SUMMARY: summary }).code,
    ).toBe(0);
    expect(markdownTables(readFileSync(github, "utf8")).length).toBe(2);
    expect(existsSync(summary)).toBe(false);
    const missing = kache(["report", "--output", join(dir, "no/such/dir/r.txt")]);
    expect(missing.code).toBe(1);
    // One line naming the file asked for, not the temp file beside it.
    expect(missing.stderr).toBe(
      `kache: error: cannot write the report to ${join(dir, "no/such/dir/r.txt")}: no such directory (check that its directory exists and is writable)\n`,
    );
    const bad = kache(["report", "--format", "html"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("text, json, markdown, github");
  });
});

describe("colour", () => {
  test("a terminal gets a bold table header, never with NO_COLOR", () => {
    expect(onTerminal(["list"])).toContain(`${ESCAPE}1mCRATE`);
    const plain = onTerminal(["list"], { NO_COLOR: "1" });
    expect(plain).toContain("CRATE");
    expect(plain).not.toContain(ESCAPE);
    expect(onTerminal(["report"], { NO_COLOR: "1" })).not.toContain(ESCAPE);
  });
});
