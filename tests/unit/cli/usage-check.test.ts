// resolveCommand on a small command tree: what counts as bad usage (exit 2) and what does not.
import { describe, expect, test } from "bun:test";
import { defineCommand } from "citty";
import { resolveCommand, wantsHelp } from "../../../src/cli/usage-check";
import { KacheError } from "../../../src/util/errors";

const report = defineCommand({
  meta: { name: "report" },
  args: {
    format: { type: "enum", options: ["text", "json"], description: "output format" },
    since: { type: "string", valueHint: "duration", description: "how far back" },
    "max-size": { type: "string", valueHint: "size", description: "a size" },
    output: { type: "string", alias: "o", description: "a path" },
    verbose: { type: "boolean", alias: "v" },
    quiet: { type: "boolean", alias: "q" },
    color: { type: "boolean", default: true },
  },
  run() {},
});

const show = defineCommand({
  meta: { name: "show" },
  args: {
    crate: { type: "positional", required: true },
    key: { type: "positional", required: false },
    json: { type: "boolean" },
    label: { type: "string", required: true },
  },
  run() {},
});

const set = defineCommand({
  meta: { name: "set" },
  args: {
    key: { type: "positional", required: true },
    value: { type: "positional", required: true, valueHint: "VALUE..." },
  },
  run() {},
});

const status = defineCommand({ meta: { name: "status" }, args: { json: { type: "boolean" } }, run() {} });
const stop = defineCommand({ meta: { name: "stop" }, run() {} });
const daemon = defineCommand({ meta: { name: "daemon" }, default: "status", subCommands: { status, stop } });
const group = defineCommand({ meta: { name: "group" }, subCommands: { stop } });
const root = defineCommand({ meta: { name: "kache" }, subCommands: { report, show, set, daemon, group } });

async function usageMessage(words: string[]): Promise<string> {
  try {
    await resolveCommand(root, words, true);
  } catch (error) {
    expect(error).toBeInstanceOf(KacheError);
    expect((error as KacheError).exitCode).toBe(2);
    return (error as KacheError).oneLine();
  }
  throw new Error(`no usage error for ${words.join(" ")}`);
}

describe("accepted", () => {
  const good = [
    ["report", "--format", "json", "--since", "7d", "--max-size=512MiB"],
    ["report", "--format=text", "-o", "out.md", "-vq", "--no-color", "--", "--anything", "goes"],
    ["report", "--since", "90s", "--output", "-"],
    ["report", "--maxSize", "1GB"],
    ["show", "serde", "--label", "x"],
    ["show", "serde", "abc123", "--json", "--label=y"],
    ["daemon"],
    ["daemon", "--json"],
    ["daemon", "stop"],
    ["set", "cache.exclude", "a", "b", "c"],
  ];
  for (const words of good)
    test(words.join(" "), async () => {
      const resolved = await resolveCommand(root, words, true);
      expect(resolved.path[0]).toBe(words[0]!);
    });

  test("the path names the sub-command, past flags before it", async () => {
    expect((await resolveCommand(root, ["daemon", "stop"], true)).path).toEqual(["daemon", "stop"]);
  });
});

describe("bad usage", () => {
  const bad: [string[], string][] = [
    [["nope"], 'unknown command "nope" (see `kache --help`)'],
    [["daemon", "nope"], 'unknown command "nope" (see `kache daemon --help`)'],
    [["group"], "`kache group` needs a command (see `kache group --help`)"],
    [["report", "--nope"], "unknown flag --nope (see `kache report --help`)"],
    [["report", "-x"], "unknown flag -x (see `kache report --help`)"],
    [["report", "-vx"], "unknown flag -x (in -vx) (see `kache report --help`)"],
    [["report", "--no-format"], "unknown flag --no-format (see `kache report --help`)"],
    [
      ["report", "--format", "xml"],
      '--format must be one of text, json, not "xml" (see `kache report --help`)',
    ],
    [["report", "--format"], "--format needs a value (see `kache report --help`)"],
    [["report", "--since", "--format", "json"], "--since needs a value (see `kache report --help`)"],
    [
      ["report", "--since", "soon"],
      '--since: invalid duration "soon" (use a number with s, m, h, d or w, e.g. 30m, 24h, 7d)',
    ],
    [
      ["report", "--max-size=lots"],
      '--max-size: invalid size "lots" (use a number with a unit, e.g. 50GiB, 10GB or 512MiB)',
    ],
    [["report", "stray"], 'unexpected argument "stray" (see `kache report --help`)'],
    [["show", "--label", "x"], "missing CRATE (usage: kache show <CRATE>; see `kache show --help`)"],
    [["show", "serde"], "missing --label (see `kache show --help`)"],
    [["set", "cache.exclude"], "missing VALUE (usage: kache set <KEY> <VALUE>; see `kache set --help`)"],
    [["show", "a", "b", "c", "--label", "x"], 'unexpected argument "c" (see `kache show --help`)'],
    [["daemon", "--nope"], "unknown flag --nope (see `kache daemon --help`)"],
  ];
  for (const [words, message] of bad)
    test(words.join(" "), async () => {
      expect(await usageMessage(words)).toBe(message);
    });
});

describe("help", () => {
  test("resolving for help stops at the command named and ignores its flags", async () => {
    const resolved = await resolveCommand(root, ["report", "--nope", "--help"], false);
    expect(resolved.path).toEqual(["report"]);
    expect((await resolveCommand(root, ["daemon"], false)).path).toEqual(["daemon"]);
  });

  test("an unknown command is bad usage even when help is asked for", async () => {
    await expect(resolveCommand(root, ["nope", "--help"], false)).rejects.toThrow('unknown command "nope"');
  });

  test("--help after -- is an argument, not a request", () => {
    expect(wantsHelp(["report", "-h"])).toBe(true);
    expect(wantsHelp(["report", "--", "--help"])).toBe(false);
  });
});
