// kache config's pieces on their own: values shown as written, input checked the loader's way, and
// edits of real files that leave the rest of each file alone and still load.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeSetting } from "../../../src/cli/config-file";
import { findSetting, formatValue, parseInput } from "../../../src/cli/config-values";
import { makeTempDir, writeFile } from "../config/helpers";

test("values read back in the shortest form that means the same", () => {
  const size = findSetting("cache.local_max_size");
  expect(formatValue(size, 50 * 1024 ** 3)).toBe("50GiB");
  expect(formatValue(size, 10e9)).toBe("10GB");
  expect(formatValue(size, 512 * 1024 ** 2)).toBe("512MiB");
  expect(formatValue(size, 1234567)).toBe("1234567");
  const duration = findSetting("KACHE_DAEMON_IDLE_TIMEOUT");
  expect(formatValue(duration, 600)).toBe("10m");
  expect(formatValue(duration, 90)).toBe("90s");
  expect(formatValue(duration, 0)).toBe("0");
  expect(formatValue(findSetting("cache.exclude"), ["a", "b"])).toBe('["a","b"]');
  expect(formatValue(findSetting("cache.remote.bucket"), undefined)).toBe("");
});

test("a setting is found by key, by key without cache., or by variable", () => {
  expect(findSetting("local_max_size").key).toBe("cache.local_max_size");
  expect(findSetting("KACHE_MAX_SIZE").key).toBe("cache.local_max_size");
  expect(findSetting("kache_fallback").key).toBe("cache.fallback");
  expect(() => findSetting("cache.compresion_level")).toThrow("unknown setting");
});

test("input becomes the TOML value the loader reads from a file", () => {
  expect(parseInput(findSetting("cache.local_max_size"), [" 10GB "])).toBe("10GB");
  expect(parseInput(findSetting("cache.remote.read_only"), ["on"])).toBe(true);
  expect(parseInput(findSetting("cache.compression_level"), ["9"])).toBe(9);
  expect(parseInput(findSetting("cache.daemon_idle_timeout_secs"), ["600"])).toBe(600);
  expect(parseInput(findSetting("cache.daemon_idle_timeout_secs"), ["10m"])).toBe("10m");
  expect(parseInput(findSetting("cache.incremental"), ["Strip"])).toBe("strip");
  expect(parseInput(findSetting("cache.exclude"), ['["a", "b"]'])).toEqual(["a", "b"]);
  expect(parseInput(findSetting("cache.exclude"), ["a", "b"])).toEqual(["a", "b"]);
  expect(parseInput(findSetting("cache.key_salt"), [""])).toBe("");
  for (const [name, input] of [
    ["cache.local_max_size", "big"],
    ["cache.compression_level", "0"],
    ["cache.remote.type", "ftp"],
    ["cache.fallback", ""],
  ] as const) {
    expect(() => parseInput(findSetting(name), [input])).toThrow(name);
  }
});

function edit(text: string, key: string, value: string | number | boolean): string {
  const path = writeFile(join(makeTempDir(), "config.toml"), text);
  writeSetting({ path, exists: true, fromEnv: false }, key, value);
  const written = readFileSync(path, "utf8");
  Bun.TOML.parse(written);
  return written;
}

test("a new key joins its table's keys, above the comment that heads the next table", () => {
  expect(
    edit(
      '[cache]\nkey_salt = "a"\n\n# the bucket\n[cache.remote]\nbucket = "x"\n',
      "cache.compression_level",
      9,
    ),
  ).toBe('[cache]\nkey_salt = "a"\ncompression_level = 9\n\n# the bucket\n[cache.remote]\nbucket = "x"\n');
  // The end of a multi-line array is where its table's keys end.
  expect(edit('[cache]\nexclude = [\n  "a", # why\n]\n# next\n[x]\n', "cache.key_salt", "s")).toBe(
    '[cache]\nexclude = [\n  "a", # why\n]\nkey_salt = "s"\n# next\n[x]\n',
  );
});

test("a table the file lacks gets its own header, where TOML allows one", () => {
  expect(edit('[cache.remote]\nbucket = "x"\n', "cache.compression_level", 9)).toBe(
    '[cache.remote]\nbucket = "x"\n\n[cache]\ncompression_level = 9\n',
  );
  expect(edit('[cache]\nkey_salt = "a"\n', "cache.remote.bucket", "b")).toBe(
    '[cache]\nkey_salt = "a"\n\n[cache.remote]\nbucket = "b"\n',
  );
  // Dotted keys already define the table: a header would redefine it.
  expect(edit('cache.key_salt = "a"\n', "cache.compression_level", 9)).toBe(
    'cache.key_salt = "a"\ncache.compression_level = 9\n',
  );
});
