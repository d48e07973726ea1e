// The interactive `kache config`: pick a setting, read what it means and where its value comes from,
// type a new one (checked as `kache config set` checks it), saved at once to the file `path` names.
import { intro, isCancel, log, note, outro, select, text } from "@clack/prompts";
import type { ConfigFileTarget, LoadResult } from "../config/load";
import { loadSettings } from "../config/load";
import { describeDefault, SETTINGS, type SettingRow } from "../config/settings";
import type { TomlScalar } from "../config/toml-edit";
import { describeError } from "../util/errors";
import { currentTarget, fileValue, removeSetting, writeSetting } from "./config-file";
import {
  describeSource,
  envWinsNote,
  expectedForm,
  formatValue,
  loadedValue,
  parseInput,
  shownPath,
} from "./config-values";

/** Only rows with a TOML key can be written to a file; the env-only ones are for `kache config list`. */
const EDITABLE = SETTINGS.filter((row) => row.key !== null);

interface Shown {
  loaded: LoadResult;
  target: ConfigFileTarget;
}

function valueText(shown: Shown, row: SettingRow): string {
  return formatValue(row, loadedValue(shown.loaded, row)) || "—";
}

function sourceText(shown: Shown, row: SettingRow): string {
  return describeSource(shown.loaded, row);
}

async function pickSetting(shown: Shown, last: SettingRow | null): Promise<SettingRow | null> {
  const width = Math.max(...EDITABLE.map((row) => row.key!.length));
  const where = shown.target.exists
    ? shownPath(shown.target.path)
    : `${shownPath(shown.target.path)} (created on the first change)`;
  const picked = await select<SettingRow | null>({
    message: `Pick a setting to change in ${where}`,
    options: [
      ...EDITABLE.map((row) => ({
        value: row,
        label: `${row.key!.padEnd(width)}  ${valueText(shown, row)}`,
        hint: sourceText(shown, row),
      })),
      { value: null, label: "Done" },
    ],
    initialValue: last ?? EDITABLE[0],
    maxItems: Math.max(5, (process.stdout.rows ?? 24) - 8),
  });
  return isCancel(picked) ? null : picked;
}

function explain(shown: Shown, row: SettingRow): void {
  const lines = [
    row.description,
    "",
    `now:     ${valueText(shown, row)} (${sourceText(shown, row)})`,
    `default: ${describeDefault(row)}`,
    `valid:   ${expectedForm(row)}`,
  ];
  if (row.env) lines.push(`env:     ${row.env}`);
  note(lines.join("\n"), row.key!);
  const wins = envWinsNote(row);
  if (wins) log.warn(wins);
}

/** A choice for enums and booleans, a checked line of text for the rest; null leaves it as it is. */
async function askValue(shown: Shown, row: SettingRow): Promise<TomlScalar | null> {
  if (row.type === "enum" || row.type === "bool") {
    const choices = row.type === "bool" ? ["true", "false"] : [...(row.values ?? [])];
    const picked = await select<string>({
      message: `New value for ${row.key}`,
      options: choices.map((choice) => ({ value: choice, label: choice })),
      initialValue: valueText(shown, row),
    });
    return isCancel(picked) ? null : parseInput(row, [picked]);
  }
  const typed = await text({
    message: `New value for ${row.key} (empty: leave it)`,
    placeholder: expectedForm(row),
    validate(input) {
      if (!input) return undefined;
      try {
        parseInput(row, [input]);
        return undefined;
      } catch (error) {
        return describeError(error);
      }
    },
  });
  return isCancel(typed) || !typed ? null : parseInput(row, [typed]);
}

async function editSetting(shown: Shown, row: SettingRow): Promise<void> {
  explain(shown, row);
  const inFile = fileValue(shown.target, row.key!) !== undefined;
  if (inFile) {
    const action = await select({
      message: `${row.key} is set in the file`,
      options: [
        { value: "change", label: "Change it" },
        { value: "remove", label: "Remove it from the file (back to the default)" },
        { value: "back", label: "Back" },
      ],
    });
    if (isCancel(action) || action === "back") return;
    if (action === "remove") {
      removeSetting(shown.target, row.key!);
      log.success(`Removed ${row.key} from ${shownPath(shown.target.path)}`);
      return;
    }
  }
  const value = await askValue(shown, row);
  if (value === null) return;
  const path = writeSetting(shown.target, row.key!, value);
  log.success(`Saved ${row.key} = ${JSON.stringify(value)} to ${shownPath(path)}`);
}

export async function runConfigEditor(): Promise<void> {
  intro("kache config");
  let last: SettingRow | null = null;
  for (;;) {
    // Read afresh each round: the last change (or another editor) may have moved values and sources.
    const shown: Shown = { loaded: loadSettings(), target: currentTarget() };
    const row = await pickSetting(shown, last);
    if (row === null) break;
    last = row;
    try {
      await editSetting(shown, row);
    } catch (error) {
      log.error(describeError(error));
    }
  }
  outro("Done");
}
