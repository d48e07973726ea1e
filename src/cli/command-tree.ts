// The citty command tree as data: which command an argv names, and every command with its flags
// (for usage checks, `--help` and shell completions). Sub-commands are loaded only when reached.
import type { ArgDef, ArgsDef, CommandDef, CommandMeta, Resolvable } from "citty";

// biome-ignore lint/suspicious/noExplicitAny: citty's own sub-command type
export type Command = CommandDef<any>;

async function resolve<T>(value: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof value === "function" ? (value as () => T | Promise<T>)() : value;
}

export async function metaOf(command: Command): Promise<CommandMeta> {
  return (await resolve(command.meta)) ?? {};
}

export async function argsOf(command: Command): Promise<ArgsDef> {
  return (await resolve(command.args)) ?? {};
}

export async function subCommandsOf(command: Command): Promise<Record<string, Resolvable<Command>>> {
  return (await resolve(command.subCommands)) ?? {};
}

/** A sub-command by name or by one of its aliases, or undefined. */
export async function findSubCommand(command: Command, name: string): Promise<Command | undefined> {
  const subCommands = await subCommandsOf(command);
  if (Object.hasOwn(subCommands, name)) return resolve(subCommands[name]);
  for (const sub of Object.values(subCommands)) {
    const resolved = await resolve(sub);
    const alias = resolved ? (await metaOf(resolved)).alias : undefined;
    if (resolved && [alias ?? []].flat().includes(name)) return resolved;
  }
  return undefined;
}

export function takesValue(definition: ArgDef): boolean {
  return definition.type === "string" || definition.type === "enum";
}

/** Every spelling citty accepts for a flag: its name, aliases, and camel/kebab forms of the name. */
export function flagSpellings(name: string, definition: ArgDef): string[] {
  const kebab = name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  const camel = name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
  const aliases = "alias" in definition ? [definition.alias ?? []].flat() : [];
  return [...new Set([name, kebab, camel, ...aliases])];
}

export interface FlagInfo {
  name: string;
  definition: ArgDef;
}

/** The flag `spelling` (without dashes) names in `args`, or undefined. */
export function findFlag(args: ArgsDef, spelling: string): FlagInfo | undefined {
  for (const [name, definition] of Object.entries(args)) {
    if (definition.type === "positional") continue;
    if (flagSpellings(name, definition).includes(spelling)) return { name, definition };
  }
  return undefined;
}

/** Index of the first word that is not a flag or a flag's value (where citty looks for a sub-command). */
export function subCommandIndex(words: string[], args: ArgsDef): number {
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    if (word === "--") return -1;
    if (!word.startsWith("-")) return index;
    const flag = word.startsWith("--") && !word.includes("=") ? findFlag(args, word.slice(2)) : undefined;
    if (flag && takesValue(flag.definition)) index++;
  }
  return -1;
}

export interface CommandNode {
  /** The words that name it after `kache` ([] for kache itself). */
  path: string[];
  meta: CommandMeta;
  args: ArgsDef;
  children: CommandNode[];
}

/** The whole tree, every sub-command loaded; hidden commands left out. */
export async function describeTree(command: Command, path: string[] = []): Promise<CommandNode> {
  const children: CommandNode[] = [];
  for (const name of Object.keys(await subCommandsOf(command))) {
    const sub = await findSubCommand(command, name);
    if (!sub || (await metaOf(sub)).hidden) continue;
    children.push(await describeTree(sub, [...path, name]));
  }
  return { path, meta: await metaOf(command), args: await argsOf(command), children };
}

/** Every node of the tree, parents before children. */
export function flattenTree(node: CommandNode): CommandNode[] {
  return [node, ...node.children.flatMap(flattenTree)];
}
