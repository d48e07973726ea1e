// `kache config [get|set|unset|list|path]`: the settings table read and written from the command line;
// bare `kache config` is the interactive editor on a terminal and the list otherwise.

import { defineCommand } from "citty";
import { formatIssue, type LoadResult, loadSettings } from "../config/load";
import { SETTINGS, type SettingRow, type SettingValue } from "../config/settings";
import { KacheError } from "../util/errors";
import { writeErr, writeOut } from "./colour";
import { currentTarget, removeSetting, writeSetting } from "./config-file";
import {
  describeSource,
  envWinsNote,
  findSetting,
  formatValue,
  isSecret,
  loadedValue,
  parseInput,
  settingName,
  shownPath,
} from "./config-values";

function out(line: string): void {
  writeOut(`${line}\n`);
}

function note(line: string): void {
  writeErr(`kache: ${line}\n`);
}

function issuesFor(loaded: LoadResult, row: SettingRow | null): string[] {
  return loaded.errors
    .filter((issue) => row === null || issue.key === row.key || issue.key === row.env)
    .map(formatIssue);
}

const get = defineCommand({
  meta: { name: "get", description: "Print a setting's effective value (env > file > default)" },
  args: {
    key: { type: "positional", required: true, description: "e.g. cache.local_max_size or KACHE_MAX_SIZE" },
  },
  run({ args }) {
    const row = findSetting(String(args.key));
    const loaded = loadSettings();
    const value = loadedValue(loaded, row);
    const issues = issuesFor(loaded, row);
    for (const issue of issues) note(`config: ${issue}`);
    if (value === undefined)
      throw new KacheError(
        `${settingName(row)} is not set`,
        `set it: kache config set ${settingName(row)} VALUE`,
      );
    const lines = Array.isArray(value) ? value : [formatValue(row, value)];
    for (const line of lines) out(line);
    if (issues.length > 0) process.exitCode = 1;
  },
});

const set = defineCommand({
  meta: { name: "set", description: "Write a setting to the config file (`kache config path` names it)" },
  args: {
    key: { type: "positional", required: true, description: "e.g. cache.local_max_size" },
    value: {
      type: "positional",
      required: true,
      valueHint: "VALUE...",
      description: "e.g. 10GB; several values for a list",
    },
  },
  run({ args }) {
    const row = findSetting(String(args.key));
    const inputs = args._.slice(1).map(String);
    const value = parseInput(row, inputs);
    const path = writeSetting(currentTarget(), row.key!, value);
    out(`${row.key} = ${JSON.stringify(value)} in ${shownPath(path)}`);
    const wins = envWinsNote(row);
    if (wins) note(`note: ${wins}`);
  },
});

const unset = defineCommand({
  meta: { name: "unset", description: "Remove a setting from the config file (back to its default)" },
  args: { key: { type: "positional", required: true, description: "e.g. cache.local_max_size" } },
  run({ args }) {
    const row = findSetting(String(args.key));
    if (!row.key) throw new KacheError(`${row.env} is read from the environment only`, `unset ${row.env}`, 2);
    const target = currentTarget();
    const removed = removeSetting(target, row.key);
    out(
      removed
        ? `removed ${row.key} from ${shownPath(target.path)}`
        : `${row.key} is not set in ${shownPath(target.path)}`,
    );
    const wins = envWinsNote(row);
    if (wins) note(`note: ${wins}`);
  },
});

export interface ListedSetting {
  key: string | null;
  env: string | null;
  type: SettingRow["type"];
  /** The typed value (bytes, seconds, booleans, arrays), or null when unset. */
  value: SettingValue | null;
  /** The value as a user writes it. */
  text: string;
  source: "env" | "file" | "default";
  variable?: string;
  file?: string;
  /** The file's own value, which the environment variable overrides. */
  overrides?: { file: string | null; value: unknown };
  description: string;
}

export function listSettings(loaded: LoadResult): ListedSetting[] {
  return SETTINGS.map((row) => {
    const source = loaded.sources.get(row) ?? { kind: "default" as const };
    const value = loadedValue(loaded, row);
    const hidden = isSecret(row) && value !== undefined;
    return {
      key: row.key,
      env: row.env,
      type: row.type,
      value: hidden ? "(hidden)" : (value ?? null),
      text: hidden ? "(hidden)" : formatValue(row, value),
      source: source.kind,
      ...(source.kind === "env" ? { variable: source.variable } : {}),
      ...(source.kind === "file" ? { file: source.file } : {}),
      ...(source.kind === "env" && row.key && loaded.fileValues.has(row.key)
        ? { overrides: { file: loaded.file, value: hidden ? "(hidden)" : loaded.fileValues.get(row.key) } }
        : {}),
      description: row.description,
    };
  });
}

function printTable(loaded: LoadResult): void {
  const target = currentTarget();
  out(
    target.exists
      ? `config file: ${shownPath(target.path)}`
      : `config file: none (kache config set creates ${shownPath(target.path)})`,
  );
  const rows = listSettings(loaded);
  const nameWidth = Math.max(...SETTINGS.map((row) => settingName(row).length));
  const textWidth = Math.min(40, Math.max(...rows.map((row) => (row.text || "—").length)));
  for (const [index, listed] of rows.entries()) {
    const row = SETTINGS[index]!;
    const source = describeSource(loaded, row);
    out(`${settingName(row).padEnd(nameWidth)}  ${(listed.text || "—").padEnd(textWidth)}  ${source}`);
  }
}

function runList(json: boolean): void {
  const loaded = loadSettings();
  if (json) {
    const errors = loaded.errors.map((issue) => ({ ...issue, text: formatIssue(issue) }));
    out(
      JSON.stringify(
        { file: loaded.file, target: currentTarget().path, settings: listSettings(loaded), errors },
        null,
        2,
      ),
    );
  } else printTable(loaded);
  for (const issue of issuesFor(loaded, null)) note(`config: ${issue}`);
  if (loaded.errors.length > 0) process.exitCode = 1;
}

const list = defineCommand({
  meta: { name: "list", description: "Every setting with its value and where it came from" },
  args: { json: { type: "boolean", description: "print JSON" } },
  run({ args }) {
    runList(Boolean(args.json));
  },
});

const path = defineCommand({
  meta: { name: "path", description: "The config file in effect, or the one `set` would create" },
  run() {
    const target = currentTarget();
    out(target.path);
    if (!target.exists) note(`${shownPath(target.path)} does not exist yet; \`kache config set\` creates it`);
  },
});

const edit = defineCommand({
  meta: {
    name: "edit",
    description: "Interactive editor (bare `kache config` on a terminal; the list otherwise)",
  },
  async run() {
    if (!process.stdin.isTTY || !process.stdout.isTTY) return runList(false);
    const { runConfigEditor } = await import("./config-editor");
    await runConfigEditor();
  },
});

export const configCommand = defineCommand({
  meta: { name: "config", description: "Show and change kache's settings" },
  subCommands: { get, set, unset, list, path, edit },
  default: "edit",
});
