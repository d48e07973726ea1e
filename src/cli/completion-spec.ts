// What a shell needs to complete kache, read off the command tree: per command, its sub-commands
// and its flags (with the values a flag takes). The shell scripts are generated from this.
import type { ArgDef } from "citty";
import type { CommandNode } from "./command-tree";
import { flagSpellings, flattenTree, takesValue } from "./command-tree";

/** What follows a flag: nothing, a file name, free text, or one of a list. */
export type FlagValue = "none" | "file" | "text" | string[];

export interface FlagSpec {
  /** Long spellings without dashes, e.g. ["dry-run"]. */
  long: string[];
  /** One-letter spellings, e.g. ["y"]. */
  short: string[];
  description: string;
  value: FlagValue;
}

export interface CommandSpec {
  /** The words after `kache`, joined by spaces ("" for kache itself). */
  key: string;
  children: { name: string; description: string }[];
  /** Words an argument takes, from a positional's valueHint "a|b|c". */
  choices: string[];
  flags: FlagSpec[];
}

const FILE_HINTS = new Set(["path", "file", "dir", "directory"]);

function flagValue(name: string, definition: ArgDef): FlagValue {
  if (!takesValue(definition)) return "none";
  if (definition.type === "enum" && definition.options?.length) return definition.options;
  if (FILE_HINTS.has(definition.valueHint ?? "") || /(path|output|dir)$/.test(name)) return "file";
  return "text";
}

function firstLine(text: string | undefined): string {
  return (text ?? "").split("\n")[0]!.trim();
}

function flagsOf(node: CommandNode): FlagSpec[] {
  const flags: FlagSpec[] = [];
  for (const [name, definition] of Object.entries(node.args)) {
    if (definition.type === "positional") continue;
    const spellings = flagSpellings(name, definition).filter((spelling) => !/[A-Z]/.test(spelling));
    const description = firstLine(definition.description);
    const value = flagValue(name, definition);
    flags.push({
      long: spellings.filter((spelling) => spelling.length > 1),
      short: spellings.filter((spelling) => spelling.length === 1),
      description,
      value,
    });
    // citty takes --no-NAME for every boolean; offer it where it means something (default on).
    if (definition.type === "boolean" && (definition.default === true || definition.negativeDescription))
      flags.push({
        long: [`no-${name}`],
        short: [],
        description: firstLine(definition.negativeDescription),
        value,
      });
  }
  flags.push({ long: ["help"], short: ["h"], description: "show usage", value: "none" });
  if (node.path.length === 0)
    flags.push({ long: ["version"], short: ["V"], description: "show the version", value: "none" });
  return flags;
}

function choicesOf(node: CommandNode): string[] {
  for (const definition of Object.values(node.args))
    if (definition.type === "positional" && /^[\w-]+(\|[\w-]+)+$/.test(definition.valueHint ?? ""))
      return definition.valueHint!.split("|");
  return [];
}

export function completionSpecs(tree: CommandNode): CommandSpec[] {
  return flattenTree(tree).map((node) => ({
    key: node.path.join(" "),
    children: node.children.map((child) => ({
      name: child.path.at(-1)!,
      description: firstLine(child.meta.description),
    })),
    choices: choicesOf(node),
    flags: flagsOf(node),
  }));
}

/** `--x` and `-x` words of a flag. */
export function flagWords(flag: FlagSpec): string[] {
  return [...flag.long.map((spelling) => `--${spelling}`), ...flag.short.map((spelling) => `-${spelling}`)];
}

/** A string in single quotes for sh, bash and zsh. */
export function quoteShell(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
