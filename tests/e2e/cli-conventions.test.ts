// The CLI's conventions on the compiled binary (SPEC §9): help everywhere, stdout for output and
// stderr for diagnostics, colour only on a terminal and never with NO_COLOR, exit 0/1/2, completions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CommandNode, describeTree, flattenTree } from "../../src/cli/command-tree";
import { rootCommand } from "../../src/cli/run-cli";
import { KACHE_BIN, makeTempDir, removeTempDirs, writeTree } from "./harness";

// biome-ignore lint/suspicious/noControlCharactersInRegex: what the tests look for
const ESCAPE = /\x1b/;

let home: string;
let commands: CommandNode[];

afterAll(removeTempDirs);

beforeAll(async () => {
  home = makeTempDir("kache-conventions-home-");
  commands = flattenTree(await describeTree(rootCommand));
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (
      value !== undefined &&
      !name.startsWith("KACHE_") &&
      !["NO_COLOR", "FORCE_COLOR", "CI"].includes(name)
    )
      base[name] = value;
  return {
    ...base,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    KACHE_CACHE_DIR: join(home, "cache"),
    TERM: "xterm-256color",
    ...extra,
  };
}

function kache(args: string[], extra: Record<string, string> = {}) {
  const result = Bun.spawnSync([KACHE_BIN, ...args], {
    cwd: home,
    env: env(extra),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** Runs a shell command line in a pseudo-terminal (script); returns what the terminal showed. */
function inTerminal(commandLine: string, extra: Record<string, string> = {}) {
  const result = Bun.spawnSync(["script", "-qfec", commandLine, "/dev/null"], {
    cwd: home,
    env: env({ SHELL: "/bin/sh", ...extra }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: result.exitCode, output: result.stdout.toString() };
}

describe("colour", () => {
  test("on a terminal, help is coloured; with NO_COLOR=1 neither help nor an error has an escape", () => {
    const coloured = inTerminal(`${KACHE_BIN} --help`);
    expect(coloured.code).toBe(0);
    expect(coloured.output).toMatch(ESCAPE);
    const help = inTerminal(`${KACHE_BIN} --help`, { NO_COLOR: "1" });
    expect(help.code).toBe(0);
    expect(help.output).toContain("USAGE kache");
    expect(help.output).not.toMatch(ESCAPE);
    const error = inTerminal(`${KACHE_BIN} no-such-command`, { NO_COLOR: "1" });
    expect(error.code).toBe(2);
    expect(error.output).toContain('kache: error: unknown command "no-such-command"');
    expect(error.output).not.toMatch(ESCAPE);
  });

  test("`kache no-such-command 2>err.txt` on a terminal writes one plain line to the file and exits 2", () => {
    const file = join(home, "err.txt");
    const run = inTerminal(`${KACHE_BIN} no-such-command 2>${shellQuote(file)}`);
    expect(run.code).toBe(2);
    const written = readFileSync(file, "utf8");
    expect(written).not.toMatch(ESCAPE);
    expect(written).toBe('kache: error: unknown command "no-such-command" (see `kache --help`)\n');
  });

  test("off a terminal there is no colour, unless FORCE_COLOR asks for it", () => {
    expect(kache(["--help"]).stdout).not.toMatch(ESCAPE);
    expect(kache(["--help"], { FORCE_COLOR: "1" }).stdout).toMatch(ESCAPE);
    expect(kache(["--help"], { FORCE_COLOR: "1", NO_COLOR: "true" }).stdout).not.toMatch(ESCAPE);
  });
});

describe("help", () => {
  test("bare `kache` off a terminal prints help on stdout and exits 0", () => {
    const bare = kache([]);
    expect(bare.code).toBe(0);
    expect(bare.stderr).toBe("");
    expect(bare.stdout).toContain("USAGE kache");
    for (const node of commands.filter((node) => node.path.length === 1))
      expect(bare.stdout).toContain(node.path[0]!);
  });

  test("--help and `kache help` work on every command of the tree, on stdout, with exit 0", () => {
    expect(commands.length).toBeGreaterThan(8);
    for (const { path, meta } of commands) {
      for (const args of [
        [...path, "--help"],
        ["help", ...path],
      ]) {
        const result = kache(args);
        expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: "" });
        expect(result.stdout).toContain(`USAGE ${["kache", ...path].join(" ")}`);
        expect(result.stdout).toContain(meta.description ?? "");
      }
    }
  });

  test("--version and `kache version` print the version", () => {
    for (const args of [["--version"], ["-V"], ["version"]])
      expect(kache(args).stdout).toMatch(/^kache \d+\.\d+\.\d+\n$/);
  });
});

describe("a reader that stops early", () => {
  test("`kache config list | head -1` and `kache completions bash | head -1` end quietly with exit 0", () => {
    for (const command of ["config list", "completions bash"]) {
      // A pipe the reader closed after one line; the rest of a long output meets EPIPE.
      const line = `set -o pipefail; ${shellQuote(KACHE_BIN)} ${command} | head -1 >/dev/null`;
      const result = Bun.spawnSync(["bash", "-c", line], { cwd: home, env: env(), stderr: "pipe" });
      expect(result.stderr.toString()).toBe("");
      expect(result.exitCode).toBe(0);
    }
  });
});

describe("bad usage exits 2 with one line on stderr that says what to do", () => {
  const cases: [string[], string][] = [
    [["no-such-command"], 'unknown command "no-such-command" (see `kache --help`)'],
    // Programs on PATH, but no compiler call: cargo always passes its compiler arguments.
    [["test"], 'unknown command "test" (see `kache --help`)'],
    [["install"], 'unknown command "install" (see `kache --help`)'],
    [["env", "nothing-to-run"], 'unknown command "env" (see `kache --help`)'],
    [["clean", "--bogus"], "unknown flag --bogus (see `kache clean --help`)"],
    [["clean", "-q"], "unknown flag -q (see `kache clean --help`)"],
    [["daemon", "nope"], 'unknown command "nope" (see `kache daemon --help`)'],
    [["daemon", "--bogus"], "unknown flag --bogus (see `kache daemon --help`)"],
    [["daemon", "log", "--lines"], "--lines needs a value (see `kache daemon log --help`)"],
    [["daemon", "log", "--lines", "many"], '--lines must be a number, got "many"'],
    [["completions"], "missing SHELL (usage: kache completions <SHELL>; see `kache completions --help`)"],
    [["completions", "tcsh"], 'no completions for "tcsh" (use bash, zsh or fish)'],
    [["completions", "bash", "extra"], 'unexpected argument "extra" (see `kache completions --help`)'],
  ];
  for (const [args, message] of cases)
    test(args.join(" "), () => {
      const result = kache(args);
      expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
        code: 2,
        stdout: "",
        stderr: `kache: error: ${message}\n`,
      });
    });
});

describe("a config error stops a command with one line that names file, line and key", () => {
  const commands = [
    ["stats"],
    ["list"],
    ["gc", "--dry-run"],
    ["sync", "--dry-run"],
    ["save-manifest"],
    ["clean", "--dry-run"],
  ];
  for (const args of commands)
    test(args.join(" "), () => {
      const configHome = makeTempDir("kache-conventions-config-");
      const file = join(configHome, "kache", "config.toml");
      writeTree(configHome, { "kache/config.toml": "[cache]\nlocal_max_sise = 1\n" });
      const result = kache(args, { XDG_CONFIG_HOME: configHome });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr.trimEnd().split("\n")).toEqual([
        `kache: error: config: ${file}:2: cache.local_max_sise: unknown key (did you mean cache.local_max_size?) (fix it, then run the command again)`,
      ]);
    });
});

describe("completions", () => {
  const scripts: Record<string, string> = {};
  const rootNames = () => commands.filter((node) => node.path.length === 1).map((node) => node.path[0]!);
  const daemonNames = () =>
    commands.filter((node) => node.path[0] === "daemon" && node.path.length === 2).map((n) => n.path[1]!);

  beforeAll(() => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const result = kache(["completions", shell]);
      expect(result.code, result.stderr).toBe(0);
      scripts[shell] = join(home, `kache.${shell}`);
      writeFileSync(scripts[shell]!, result.stdout);
    }
  });

  function bash(words: string[]): string[] {
    const script = [
      `source ${shellQuote(scripts.bash!)}`,
      `COMP_WORDS=(${words.map(shellQuote).join(" ")})`,
      `COMP_CWORD=${words.length - 1}`,
      "_kache",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join("\n");
    const result = Bun.spawnSync(["bash", "--norc", "-c", script], { stdout: "pipe", stderr: "pipe" });
    expect(result.stderr.toString()).toBe("");
    return result.stdout.toString().split("\n").filter(Boolean).sort();
  }

  test("bash: the script parses, and completing offers every command, sub-command, flag and choice", () => {
    expect(Bun.spawnSync(["bash", "-n", scripts.bash!]).exitCode).toBe(0);
    expect(bash(["kache", ""])).toEqual(rootNames().sort());
    expect(bash(["kache", "da"])).toEqual(["daemon"]);
    expect(bash(["kache", "daemon", ""])).toEqual(daemonNames().sort());
    expect(bash(["kache", "clean", "--"])).toEqual(["--dry-run", "--help", "--yes"]);
    expect(bash(["kache", "--version", "clean", "-"])).toEqual(["--dry-run", "--help", "--yes", "-h", "-y"]);
    expect(bash(["kache", "daemon", "log", "--lines", "5", "--"])).toEqual([
      "--follow",
      "--help",
      "--lines",
      "--no-follow",
    ]);
    expect(bash(["kache", "completions", ""])).toEqual(["bash", "fish", "zsh"]);
  });

  test("zsh: the script parses, registers with compinit, and its tables and path walk agree with the tree", () => {
    expect(Bun.spawnSync(["zsh", "-n", scripts.zsh!]).exitCode).toBe(0);
    const script = [
      "autoload -U compinit && compinit -u -D",
      `source ${shellQuote(scripts.zsh!)}`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a zsh expansion
      'print -r -- "registered: ${_comps[kache]}"',
      "words=(kache --version daemon log --lines 5 ''); CURRENT=7",
      'print -r -- "path: $(_kache_command_path)"',
      "_kache_subcommands '' | cut -d: -f1",
      "_kache_flags clean | cut -d: -f1",
      'print -r -- "choices: $(_kache_choices completions)"',
    ].join("\n");
    const result = Bun.spawnSync(["zsh", "-f", "-c", script], {
      cwd: home,
      env: env(),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(result.stderr.toString()).toBe("");
    const lines = result.stdout.toString().split("\n").filter(Boolean);
    expect(lines[0]).toBe("registered: _kache");
    expect(lines[1]).toBe("path: daemon log");
    expect(lines.slice(2, 2 + rootNames().length)).toEqual(rootNames());
    expect(lines.slice(2 + rootNames().length, -1)).toEqual(["--dry-run", "--yes", "-y", "--help", "-h"]);
    expect(lines.at(-1)).toBe("choices: bash zsh fish");
  });

  /**
   * Types into an interactive zsh (under zsh's own pseudo-terminal, zpty) with the script on $fpath,
   * presses Tab after each line and returns what the terminal showed, escape sequences removed.
   */
  function zshTabs(lines: { typed: string; awaited: string }[]): string {
    const steps = lines.map(
      ({ typed, awaited }) =>
        `zpty -w -n z $'\\C-u'${shellQuote(typed)}$'\\t'; await ${shellQuote(awaited)} || exit 1`,
    );
    const driver = [
      "zmodload zsh/zpty zsh/datetime",
      "await() {",
      "  local deadline=$((EPOCHREALTIME + 20)) chunk",
      "  while ((EPOCHREALTIME < deadline)); do",
      "    while zpty -r -t z chunk; do shown+=$chunk; done",
      "    [[ $shown == *$1* ]] && return 0",
      "    sleep 0.05",
      "  done",
      "  return 1",
      "}",
      "shown=''",
      "zpty z 'stty cols 120 rows 40; exec zsh -f -i'",
      `zpty -w z "PS1='P> '; fpath=(${shellQuote(home)} \\$fpath); autoload -U compinit; compinit -u -D; print RE''ADY"`,
      "await READY || exit 1",
      ...steps,
      'print -r -- "$shown"',
      "zpty -d z",
    ].join("\n");
    writeFileSync(join(home, "_kache"), readFileSync(scripts.zsh!));
    const result = Bun.spawnSync(["zsh", "-f", "-c", driver], {
      cwd: home,
      env: env(),
      stdout: "pipe",
      stderr: "pipe",
    });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips what the terminal drew
    const text = result.stdout.toString().replace(/\x1b\[[0-9;?]*[A-Za-z]|[\x07\x08\r]/g, "");
    expect({ code: result.exitCode, stderr: result.stderr.toString() }, text).toEqual({
      code: 0,
      stderr: "",
    });
    return text;
  }

  test("zsh: Tab in an interactive zsh completes a command and lists a command's flags with their help", () => {
    const shown = zshTabs([
      { typed: "kache da", awaited: "kache daemon" },
      { typed: "kache clean --", awaited: "delete every target dir listed" },
    ]);
    expect(shown).toContain("kache daemon");
    expect(shown).toMatch(/--dry-run +-- list the target dirs and delete nothing/);
    expect(shown).toMatch(/--yes +-- delete every target dir listed, without asking/);
  });

  function fish(commandLine: string): string[] {
    const script = `source ${shellQuote(scripts.fish!)}; complete -C ${shellQuote(commandLine)}`;
    const result = Bun.spawnSync(["fish", "--no-config", "-c", script], {
      cwd: home,
      env: env(),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(result.stderr.toString()).toBe("");
    return result.stdout
      .toString()
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("\t")[0]!)
      .sort();
  }

  test("fish: the script parses, and fish's own completer offers commands, sub-commands, flags and choices", () => {
    expect(Bun.spawnSync(["fish", "--no-execute", scripts.fish!]).exitCode).toBe(0);
    expect(fish("kache ")).toEqual(rootNames().sort());
    expect(fish("kache daemon ")).toEqual(daemonNames().sort());
    expect(fish("kache clean --")).toEqual(["--dry-run", "--help", "--yes"]);
    expect(fish("kache completions ")).toEqual(["bash", "fish", "zsh"]);
  });
});
