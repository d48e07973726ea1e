// Config-file problems: each names file, line and key, and everything else in the file still applies.
import { expect, test } from "bun:test";
import { homedir } from "node:os";
import { join } from "node:path";
import { formatIssue, loadSettings } from "../../../src/config/load";
import { makeTempDir, removeTempDirsAfterEach, writeFile } from "./helpers";

removeTempDirsAfterEach();

function load(text: string, env: Record<string, string> = {}) {
  const cwd = makeTempDir();
  const file = writeFile(join(cwd, ".kache.toml"), text);
  const result = loadSettings({ cwd, env: { HOME: join(cwd, "home"), ...env } });
  expect(result.file).toBe(file);
  return { ...result, file };
}

test("an unknown key is reported with its line and a suggestion; the rest applies", () => {
  const { file, settings, errors } = load(
    ["# kache settings", "", "[cache]", 'key_salt = "s"', 'local_max_sise = "1G"', "s3_concurrency = 8"].join(
      "\n",
    ),
  );
  expect(errors).toEqual([
    {
      file,
      line: 5,
      key: "cache.local_max_sise",
      message: "unknown key",
      hint: "did you mean cache.local_max_size?",
    },
  ]);
  expect(settings.keySalt).toBe("s");
  expect(settings.s3Concurrency).toBe(8);
});

test("unknown tables and keys under [cache.remote] get their own lines", () => {
  const { errors } = load(
    ["[cache.remote]", 'bucket = "b"', 'regoin = "x"', "", "[cachee]", "a = 1"].join("\n"),
  );
  expect(errors.map((issue) => [issue.key, issue.line])).toEqual([
    ["cache.remote.regoin", 3],
    ["cachee", 5],
  ]);
});

test("dotted keys at the top level are found on their line", () => {
  const { settings, errors } = load(['cache.remote.bucket = "b"', "cache.compression_level = 99"].join("\n"));
  expect(settings.remote.bucket).toBe("b");
  expect(settings.compressionLevel).toBe(3);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ key: "cache.compression_level", line: 2, message: "99 is out of range" });
});

test("a wrong type falls back to the default and names the key", () => {
  const { settings, errors } = load(
    ["[cache]", 'cache_executables = "yes"', 'compression_level = "9"', 'exclude = "one"', "remote = 3"].join(
      "\n",
    ),
  );
  expect(settings.compressionLevel).toBe(3);
  expect(settings.exclude).toEqual([]);
  expect(errors.map((issue) => [issue.key, issue.line, issue.message])).toEqual([
    ["cache.remote", 5, "expected a table"],
    ["cache.cache_executables", 2, 'expected true or false, got "yes"'],
    ["cache.exclude", 4, 'expected an array of strings, got "one"'],
    ["cache.compression_level", 3, 'expected an integer, got "9"'],
  ]);
});

test("an unparsable size is one line with file, line, key and hint", () => {
  const { errors } = load('[cache]\n\nlocal_max_size = "lots"\n');
  expect(errors).toHaveLength(1);
  // Shown as if the file lived in the home directory, to check the `~` shortening.
  const shown = formatIssue({ ...errors[0]!, file: join(homedir(), "proj", ".kache.toml") });
  expect(shown).toBe(
    '~/proj/.kache.toml:3: cache.local_max_size: invalid size "lots" (use a number with a unit, e.g. 50GiB, 10GB or 512MiB)',
  );
});

test("an unparsable duration is reported", () => {
  const { settings, errors } = load('[cache]\ndaemon_idle_timeout_secs = "soon"\n');
  expect(settings.daemonIdleTimeoutSecs).toBe(600);
  expect(errors[0]).toMatchObject({
    key: "cache.daemon_idle_timeout_secs",
    line: 2,
    message: 'invalid duration "soon"',
  });
});

test("malformed TOML is one issue with the line; env still applies", () => {
  const { file, settings, errors } = load(
    ["[cache]", 'key_salt = "x"', "", "compression_level = = 4", "s3_concurrency = 2"].join("\n"),
    { KACHE_S3_CONCURRENCY: "5" },
  );
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ file, line: 4, key: "" });
  expect(errors[0]!.message).toStartWith("invalid TOML: ");
  expect(settings.keySalt).toBe("");
  expect(settings.s3Concurrency).toBe(5);
  expect(formatIssue(errors[0]!)).toStartWith(`${file.replace(homedir(), "~")}:4: invalid TOML: `);
});

test("exclude patterns expand ~, $VAR, {VAR} and a default $CARGO_HOME", () => {
  const { settings, errors } = load(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} is what is under test
    '[cache]\nexclude = ["~/vendor/**", "$CARGO_HOME/registry/**", "${WORK}/gen/*.rs", "plain/**"]\n',
    { WORK: "/w" },
  );
  expect(errors).toEqual([]);
  const home = settings.exclude[0]!.slice(0, -"/vendor/**".length);
  expect(home).toEndWith("/home");
  expect(settings.exclude).toEqual([
    `${home}/vendor/**`,
    `${home}/.cargo/registry/**`,
    "/w/gen/*.rs",
    "plain/**",
  ]);
});

test("a set CARGO_HOME wins; an unset variable is an issue, not an empty string", () => {
  let { settings } = load('[cache]\nexclude = ["$CARGO_HOME/git/**"]\n', { CARGO_HOME: "/opt/cargo" });
  expect(settings.exclude).toEqual(["/opt/cargo/git/**"]);
  const result = load('[cache]\n\nexclude = ["$NOPE/**"]\n');
  settings = result.settings;
  expect(settings.exclude).toEqual([]);
  expect(result.errors[0]).toMatchObject({ key: "cache.exclude", line: 3 });
  expect(result.errors[0]!.message).toContain("$NOPE");
});

test("local_store expands ~ and resolves relative to the config file", () => {
  let { settings, file } = load('[cache]\nlocal_store = "cache-here"\n');
  expect(settings.cacheDir).toBe(join(file, "..", "cache-here"));
  ({ settings } = load('[cache]\nlocal_store = "~/kc"\n', { HOME: "/users/me" }));
  expect(settings.cacheDir).toBe("/users/me/kc");
});

test("key_env_vars: a TOML array, or comma-separated in KACHE_KEY_ENV_VARS; a bad name is an issue", () => {
  expect(load('[cache]\nkey_env_vars = ["MY_TOOL_*", "MODE"]\n').settings.keyEnvVars).toEqual([
    "MY_TOOL_*",
    "MODE",
  ]);
  const fromEnv = load("", { KACHE_KEY_ENV_VARS: " MODE, MY_TOOL_* ,," });
  expect(fromEnv.settings.keyEnvVars).toEqual(["MODE", "MY_TOOL_*"]);
  const bad = load('[cache]\n\nkey_env_vars = ["MY-TOOL", "*"]\n');
  expect(bad.settings.keyEnvVars).toEqual([]);
  expect(bad.errors[0]).toMatchObject({
    key: "cache.key_env_vars",
    line: 3,
    message: 'invalid variable name "MY-TOOL"',
  });
});
