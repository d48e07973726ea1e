// loadSettings: where the file comes from, env > file > default, and how bad values are reported.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { formatIssue, loadSettings } from "../../../src/config/load";
import { defaultCacheDir, SETTINGS } from "../../../src/config/settings";
import { makeTempDir, removeTempDirsAfterEach, writeFile } from "./helpers";

removeTempDirsAfterEach();

function setup() {
  const root = makeTempDir();
  const home = join(root, "home");
  const cwd = join(root, "work", "proj");
  writeFile(join(cwd, "src", "lib.rs"), "");
  return { root, home, cwd, env: { HOME: home } as Record<string, string | undefined> };
}

describe("defaults", () => {
  test("no file and no env gives the table's defaults", () => {
    const { cwd, env } = setup();
    const { settings, file, errors } = loadSettings({ cwd, env });
    expect(file).toBeNull();
    expect(errors).toEqual([]);
    expect(settings.cacheDir).toBe(defaultCacheDir(env));
    expect(settings.maxSize).toBe(50 * 1024 ** 3);
    expect(settings.remote).toEqual({
      type: "s3",
      readOnly: false,
      checkTimeoutSecs: 3,
      region: "us-east-1",
      prefix: "artifacts",
    });
    expect(settings.cleanIncremental).toBe(true);
    expect(settings.exclude).toEqual([]);
    expect(settings.compressionLevel).toBe(3);
    expect(settings.s3Concurrency).toBe(16);
    expect(settings.daemonIdleTimeoutSecs).toBe(600);
    expect(settings.keySalt).toBe("");
    expect(settings.disabled).toBe(false);
    expect(settings.logLevel).toBe("warn");
    expect(settings.progress).toBe("auto");
  });

  test("the cache dir follows the platform and XDG_CACHE_HOME", () => {
    expect(defaultCacheDir({ HOME: "/h" }, "linux")).toBe("/h/.cache/kache");
    expect(defaultCacheDir({ HOME: "/h", XDG_CACHE_HOME: "/xdg" }, "linux")).toBe("/xdg/kache");
    expect(defaultCacheDir({ HOME: "/h", XDG_CACHE_HOME: "relative" }, "linux")).toBe("/h/.cache/kache");
    expect(defaultCacheDir({ HOME: "/h", XDG_CACHE_HOME: "/xdg" }, "darwin")).toBe("/h/Library/Caches/kache");
  });
});

describe("precedence", () => {
  test("env beats file beats default, key by key", () => {
    const { cwd, env } = setup();
    writeFile(
      join(cwd, ".kache.toml"),
      [
        "[cache]",
        'local_max_size = "10GB"',
        "compression_level = 9",
        'key_salt = "from-file"',
        "[cache.remote]",
        'bucket = "file-bucket"',
        'region = "eu-west-1"',
      ].join("\n"),
    );
    env.KACHE_MAX_SIZE = "512MiB";
    env.KACHE_S3_BUCKET = "env-bucket";
    const { settings, errors, file } = loadSettings({ cwd, env });
    expect(errors).toEqual([]);
    expect(file).toBe(join(cwd, ".kache.toml"));
    expect(settings.maxSize).toBe(512 * 1024 ** 2);
    expect(settings.remote.bucket).toBe("env-bucket");
    expect(settings.remote.region).toBe("eu-west-1");
    expect(settings.compressionLevel).toBe(9);
    expect(settings.keySalt).toBe("from-file");
    expect(settings.remote.prefix).toBe("artifacts");
    expect(settings.s3Concurrency).toBe(16);
  });

  test("an empty env var counts as unset", () => {
    const { cwd, env } = setup();
    writeFile(join(cwd, ".kache.toml"), '[cache.remote]\nregion = "ap-south-1"\n');
    env.KACHE_S3_REGION = "";
    expect(loadSettings({ cwd, env }).settings.remote.region).toBe("ap-south-1");
  });

  test("env-only settings: credentials, disabled, log level, progress", () => {
    const { cwd, env } = setup();
    Object.assign(env, {
      KACHE_S3_ACCESS_KEY: "AK",
      KACHE_S3_SECRET_KEY: "SK",
      KACHE_DISABLED: "1",
      KACHE_LOG: "DEBUG",
      KACHE_PROGRESS: "never",
    });
    const { settings, errors } = loadSettings({ cwd, env });
    expect(errors).toEqual([]);
    expect(settings.remote.accessKey).toBe("AK");
    expect(settings.remote.secretKey).toBe("SK");
    expect(settings.disabled).toBe(true);
    expect(settings.logLevel).toBe("debug");
    expect(settings.progress).toBe("never");
  });
});

describe("finding the config file", () => {
  test("KACHE_CONFIG wins over a .kache.toml in the tree", () => {
    const { root, cwd, env } = setup();
    writeFile(join(cwd, ".kache.toml"), '[cache]\nkey_salt = "tree"\n');
    const explicit = writeFile(join(root, "elsewhere", "my.toml"), '[cache]\nkey_salt = "explicit"\n');
    env.KACHE_CONFIG = explicit;
    const { settings, file } = loadSettings({ cwd, env });
    expect(file).toBe(explicit);
    expect(settings.keySalt).toBe("explicit");
  });

  test("a missing KACHE_CONFIG file is an issue and nothing else is searched", () => {
    const { root, cwd, env } = setup();
    writeFile(join(cwd, ".kache.toml"), '[cache]\nkey_salt = "tree"\n');
    env.KACHE_CONFIG = join(root, "nope.toml");
    const { settings, file, errors } = loadSettings({ cwd, env });
    expect(file).toBeNull();
    expect(settings.keySalt).toBe("");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      file: join(root, "nope.toml"),
      key: "KACHE_CONFIG",
      message: "config file not found",
    });
  });

  test("walks up to the nearest .kache.toml", () => {
    const { root, env } = setup();
    writeFile(join(root, "work", ".kache.toml"), '[cache]\nkey_salt = "far"\n');
    const near = writeFile(join(root, "work", "a", ".kache.toml"), '[cache]\nkey_salt = "near"\n');
    const deep = join(root, "work", "a", "b", "c");
    writeFile(join(deep, "x"), "");
    const { settings, file } = loadSettings({ cwd: deep, env });
    expect(file).toBe(near);
    expect(settings.keySalt).toBe("near");
  });

  test("falls back to $XDG_CONFIG_HOME/kache/config.toml, then ~/.config/kache/config.toml", () => {
    const { root, home, cwd, env } = setup();
    const inHome = writeFile(join(home, ".config", "kache", "config.toml"), '[cache]\nkey_salt = "home"\n');
    expect(loadSettings({ cwd, env }).file).toBe(inHome);
    const inXdg = writeFile(join(root, "xdg", "kache", "config.toml"), '[cache]\nkey_salt = "xdg"\n');
    env.XDG_CONFIG_HOME = join(root, "xdg");
    const { settings, file } = loadSettings({ cwd, env });
    expect(file).toBe(inXdg);
    expect(settings.keySalt).toBe("xdg");
  });
});

describe("value parsing", () => {
  test("sizes, durations and ints from file and env", () => {
    const { cwd, env } = setup();
    writeFile(
      join(cwd, ".kache.toml"),
      '[cache]\nlocal_max_size = 1000\ndaemon_idle_timeout_secs = "2h"\ns3_concurrency = 4\n',
    );
    let { settings, errors } = loadSettings({ cwd, env });
    expect(errors).toEqual([]);
    expect(settings.maxSize).toBe(1000);
    expect(settings.daemonIdleTimeoutSecs).toBe(7200);
    expect(settings.s3Concurrency).toBe(4);
    Object.assign(env, {
      KACHE_MAX_SIZE: "10GB",
      KACHE_DAEMON_IDLE_TIMEOUT: "0",
      KACHE_S3_CONCURRENCY: "32",
    });
    ({ settings, errors } = loadSettings({ cwd, env }));
    expect(errors).toEqual([]);
    expect(settings.maxSize).toBe(10e9);
    expect(settings.daemonIdleTimeoutSecs).toBe(0);
    expect(settings.s3Concurrency).toBe(32);
  });

  test("a duration under a second keeps its fraction (a check_timeout of 0.2s is not 0, which turns checks off)", () => {
    const { cwd, env } = setup();
    writeFile(join(cwd, ".kache.toml"), '[cache.remote]\ncheck_timeout = "0.2s"\n');
    const { settings, errors } = loadSettings({ cwd, env });
    expect(errors).toEqual([]);
    expect(settings.remote.checkTimeoutSecs).toBe(0.2);
  });

  test.each([
    ["1", true],
    ["yes", true],
    ["ON", true],
    ["true", true],
    ["0", false],
    ["no", false],
    ["off", false],
    ["False", false],
  ])("KACHE_CLEAN_INCREMENTAL=%s is %p", (text, expected) => {
    const { cwd, env } = setup();
    // The file says the opposite, so only a parsed env value can produce `expected`.
    writeFile(join(cwd, ".kache.toml"), `[cache]\nclean_incremental = ${!expected}\n`);
    env.KACHE_CLEAN_INCREMENTAL = text;
    expect(loadSettings({ cwd, env }).settings.cleanIncremental).toBe(expected);
  });

  test("bad env values are issues naming the variable; the file's value stays", () => {
    const { cwd, env } = setup();
    writeFile(join(cwd, ".kache.toml"), "[cache]\ncompression_level = 7\n");
    Object.assign(env, {
      KACHE_COMPRESSION_LEVEL: "23",
      KACHE_MAX_SIZE: "lots",
      KACHE_DISABLED: "maybe",
      KACHE_LOG: "loud",
    });
    const { settings, errors } = loadSettings({ cwd, env });
    expect(settings.compressionLevel).toBe(7);
    expect(settings.maxSize).toBe(50 * 1024 ** 3);
    expect(settings.disabled).toBe(false);
    expect(settings.logLevel).toBe("warn");
    expect(errors.map((issue) => issue.key).sort()).toEqual([
      "KACHE_COMPRESSION_LEVEL",
      "KACHE_DISABLED",
      "KACHE_LOG",
      "KACHE_MAX_SIZE",
    ]);
    expect(errors.every((issue) => issue.file === null && issue.line === null)).toBe(true);
    const level = errors.find((issue) => issue.key === "KACHE_COMPRESSION_LEVEL")!;
    expect(formatIssue(level)).toBe(
      "KACHE_COMPRESSION_LEVEL: 23 is out of range (use a number between 1 and 22)",
    );
  });
});

describe("sources and the fallback", () => {
  test("each row says which layer its value came from", () => {
    const { cwd, env } = setup();
    const file = join(cwd, ".kache.toml");
    writeFile(file, '[cache]\nlocal_max_size = "10GB"\ncompression_level = 7\n');
    env.KACHE_MAX_SIZE = "20GB";
    const { sources } = loadSettings({ cwd, env });
    const sourceOf = (key: string) => sources.get(SETTINGS.find((row) => row.key === key)!);
    expect(sourceOf("cache.local_max_size")).toEqual({ kind: "env", variable: "KACHE_MAX_SIZE" });
    expect(sourceOf("cache.compression_level")).toEqual({ kind: "file", file });
    expect(sourceOf("cache.key_salt")).toEqual({ kind: "default" });
  });

  test("a fallback path is taken from the file's dir; a bare name is left for PATH", () => {
    const { cwd, env } = setup();
    writeFile(join(cwd, ".kache.toml"), '[cache]\nfallback = "tools/sccache"\n');
    expect(loadSettings({ cwd, env }).settings.fallback).toBe(join(cwd, "tools", "sccache"));
    env.KACHE_FALLBACK = "sccache";
    expect(loadSettings({ cwd, env }).settings.fallback).toBe("sccache");
    env.KACHE_FALLBACK = "~/bin/sccache";
    expect(loadSettings({ cwd, env }).settings.fallback).toBe(join(env.HOME!, "bin", "sccache"));
  });
});
