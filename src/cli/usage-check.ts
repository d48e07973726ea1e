// Which command an argv names, and whether its words fit that command's flags and arguments: bad
// usage is caught here, before the command runs, as one line and exit 2 (citty itself ignores
// unknown flags). Flags declared with valueHint "duration" or "size" are parsed as in SPEC §5.
import type { ArgDef, ArgsDef } from "citty";
import { parseDuration } from "../util/duration";
import { KacheError } from "../util/errors";
import { parseSize } from "../util/size";
import {
  argsOf,
  type Command,
  findFlag,
  findSubCommand,
  subCommandIndex,
  subCommandsOf,
  takesValue,
} from "./command-tree";

export interface ResolvedCommand {
  /** The words after `kache` that name the command. */
  path: string[];
  command: Command;
  parent?: Command;
}

const HELP_FLAGS = ["--help", "-h"];

export function commandLine(path: string[]): string {
  return ["kache", ...path].join(" ");
}

function usageError(path: string[], message: string, usage?: string): KacheError {
  const help = `see \`${commandLine(path)} --help\``;
  return new KacheError(message, usage ? `usage: ${usage}; ${help}` : help, 2);
}

const VALUE_PARSERS: Record<string, (text: string) => unknown> = {
  duration: parseDuration,
  size: parseSize,
};

function checkValue(path: string[], name: string, definition: ArgDef, value: string): void {
  if (definition.type === "enum" && definition.options?.length && !definition.options.includes(value))
    throw usageError(path, `--${name} must be one of ${definition.options.join(", ")}, not "${value}"`);
  const parse = VALUE_PARSERS[definition.valueHint ?? ""];
  if (!parse) return;
  try {
    parse(value);
  } catch (error) {
    throw new KacheError(`--${name}: ${(error as KacheError).message}`, (error as KacheError).hint, 2);
  }
}

function longFlag(args: ArgsDef, spelling: string) {
  const flag = findFlag(args, spelling);
  if (flag || !spelling.startsWith("no-")) return flag;
  const negated = findFlag(args, spelling.slice(3));
  return negated && negated.definition.type === "boolean" ? negated : undefined;
}

interface Words {
  positionals: string[];
  /** Names of the flags given. */
  flags: Set<string>;
}

/** Checks flags and their values; returns the positional words (those before `--`) and the flags. */
function checkFlags(path: string[], words: string[], args: ArgsDef): Words {
  const positionals: string[] = [];
  const flags = new Set<string>();
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    if (word === "--") break;
    if (word === "-" || !word.startsWith("-")) {
      positionals.push(word);
      continue;
    }
    if (HELP_FLAGS.includes(word)) continue;
    const long = word.startsWith("--");
    const [spelling = "", inline] = long
      ? splitOnce(word.slice(2), "=")
      : [word.slice(1, 2), word.slice(2) || undefined];
    const flag = long ? longFlag(args, spelling) : findFlag(args, spelling);
    const shown = long ? `--${spelling}` : `-${spelling}`;
    if (!flag) throw usageError(path, `unknown flag ${shown}`);
    flags.add(flag.name);
    if (!takesValue(flag.definition)) {
      if (!long && inline) checkShortGroup(path, args, word, inline);
      continue;
    }
    const value = inline ?? words[index + 1];
    if (value === undefined || (inline === undefined && value.startsWith("-") && value !== "-"))
      throw usageError(path, `${shown} needs a value`);
    if (inline === undefined) index++;
    checkValue(path, flag.name, flag.definition, value);
  }
  return { positionals, flags };
}

/** `-yv`: every letter after the first must be a boolean short flag too. */
function checkShortGroup(path: string[], args: ArgsDef, word: string, rest: string): void {
  for (const letter of rest) {
    const flag = findFlag(args, letter);
    if (!flag) throw usageError(path, `unknown flag -${letter} (in ${word})`);
    if (takesValue(flag.definition)) throw usageError(path, `-${letter} needs a value of its own`);
  }
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function checkArguments(path: string[], { positionals, flags }: Words, args: ArgsDef): void {
  for (const [name, definition] of Object.entries(args))
    if (
      definition.type !== "positional" &&
      definition.required &&
      definition.default === undefined &&
      !flags.has(name)
    )
      throw usageError(path, `missing --${name}`);
  const declared = Object.entries(args).filter(([, definition]) => definition.type === "positional");
  const required = declared.filter(
    ([, definition]) => definition.required !== false && definition.default === undefined,
  );
  if (positionals.length < required.length) {
    const names = required.map(([name]) => `<${name.toUpperCase()}>`).join(" ");
    throw usageError(
      path,
      `missing ${required[positionals.length]![0].toUpperCase()}`,
      `${commandLine(path)} ${names}`,
    );
  }
  // A last positional whose valueHint ends in "..." takes the rest (`config set cache.exclude A B`).
  const takesRest = declared.at(-1)?.[1].valueHint?.endsWith("...") ?? false;
  if (positionals.length > declared.length && !takesRest)
    throw usageError(path, `unexpected argument "${positionals[declared.length]}"`);
}

/**
 * Follows the words to the command they name, as citty will. With `check`, bad usage throws a
 * KacheError with exit code 2; without it (for `--help`), only an unknown command does.
 */
export async function resolveCommand(
  root: Command,
  words: string[],
  check: boolean,
): Promise<ResolvedCommand> {
  let resolved: ResolvedCommand = { path: [], command: root };
  let rest = words;
  for (;;) {
    const { path, command } = resolved;
    const args = await argsOf(command);
    const hasChildren = Object.keys(await subCommandsOf(command)).length > 0;
    const index = hasChildren ? subCommandIndex(rest, args) : -1;
    if (index >= 0) {
      const name = rest[index]!;
      const sub = await findSubCommand(command, name);
      if (!sub) throw usageError(path, `unknown command "${name}"`);
      if (check) checkFlags(path, rest.slice(0, index), args);
      resolved = { path: [...path, name], command: sub, parent: command };
      rest = rest.slice(index + 1);
      continue;
    }
    if (!check) return resolved;
    const fallback =
      hasChildren && typeof command.default === "string"
        ? await findSubCommand(command, command.default)
        : undefined;
    // citty hands a command's words to its default sub-command too: either may own a flag.
    const leafArgs = fallback ? { ...args, ...(await argsOf(fallback)) } : args;
    if (hasChildren && !fallback && !command.run)
      throw usageError(path, `\`${commandLine(path)}\` needs a command`);
    checkArguments(path, checkFlags(path, rest, leafArgs), fallback ? await argsOf(fallback) : args);
    return resolved;
  }
}

/** True when the words ask for help (before any `--`). */
export function wantsHelp(words: string[]): boolean {
  const end = words.indexOf("--");
  return (end < 0 ? words : words.slice(0, end)).some((word) => HELP_FLAGS.includes(word));
}
