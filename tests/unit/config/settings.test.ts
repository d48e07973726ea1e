// The settings table itself: complete, unambiguous, and cheap to import from the wrapper.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describeDefault, SETTINGS } from "../../../src/config/settings";

test("every row can be set somewhere, and no env var, key or field appears twice", () => {
  for (const row of SETTINGS) expect(row.env !== null || row.key !== null).toBe(true);
  const unique = (values: (string | null)[]) => {
    const present = values.filter((value) => value !== null);
    return new Set(present).size === present.length;
  };
  expect(unique(SETTINGS.map((row) => row.env))).toBe(true);
  expect(unique(SETTINGS.map((row) => row.key))).toBe(true);
  expect(unique(SETTINGS.map((row) => row.field))).toBe(true);
});

test("the table covers the SPEC §5 env vars and keys", () => {
  const envs = SETTINGS.map((row) => row.env);
  for (const name of [
    "KACHE_CACHE_DIR",
    "KACHE_MAX_SIZE",
    "KACHE_S3_BUCKET",
    "KACHE_S3_ENDPOINT",
    "KACHE_S3_REGION",
    "KACHE_S3_PREFIX",
    "KACHE_S3_PROFILE",
    "KACHE_S3_ACCESS_KEY",
    "KACHE_S3_SECRET_KEY",
    "KACHE_CACHE_EXECUTABLES",
    "KACHE_CLEAN_INCREMENTAL",
    "KACHE_COMPRESSION_LEVEL",
    "KACHE_S3_CONCURRENCY",
    "KACHE_DAEMON_IDLE_TIMEOUT",
    "KACHE_KEY_SALT",
    "KACHE_FALLBACK",
    "KACHE_DISABLED",
    "KACHE_LOG",
    "KACHE_PROGRESS",
  ]) {
    expect(envs).toContain(name);
  }
  expect(SETTINGS.find((row) => row.key === "cache.exclude")).toMatchObject({
    env: null,
    type: "string-list",
  });
});

test("enum rows list their values and defaults read well in docs", () => {
  for (const row of SETTINGS.filter((row) => row.type === "enum")) {
    expect(row.values).toContain(row.default as string);
  }
  const byKey = (key: string) => SETTINGS.find((row) => row.key === key)!;
  expect(describeDefault(byKey("cache.local_max_size"))).toBe("50GiB");
  expect(describeDefault(byKey("cache.remote.bucket"))).toBe("—");
  expect(describeDefault(byKey("cache.exclude"))).toBe("[]");
  expect(describeDefault(byKey("cache.local_store"))).toContain("~/.cache/kache");
});

test("config modules import only node built-ins and each other (they run on the wrapper hot path)", () => {
  const dir = join(import.meta.dir, "../../../src/config");
  // toml-edit.ts is the CLI's editor of users' config files; the import-graph test proves the
  // wrapper path never reaches it.
  const onWrapperPath = (file: string) => file.endsWith(".ts") && file !== "toml-edit.ts";
  for (const name of readdirSync(dir).filter(onWrapperPath)) {
    const source = readFileSync(join(dir, name), "utf8");
    for (const match of source.matchAll(/^import[^"]*"([^"]+)"/gm)) {
      expect(`${name}: ${match[1]}`).toMatch(/: (node:(fs|path|os)|\.\/[\w-]+|\.\.\/util\/[\w-]+)$/);
    }
  }
});
