// Explains how two recorded keys differ, component by component and down to the file or variable.
import {
  diffComponents,
  KEY_COMPONENT_LABELS,
  type KeyComponentName,
  type KeyComponents,
} from "../wrapper/cache-key";

export interface LineChange {
  kind: "changed" | "added" | "removed";
  /** The file, variable or flag the line is about (the whole line when it names nothing). */
  name: string;
  before: string | null;
  after: string | null;
}

export interface ComponentChange {
  component: KeyComponentName;
  label: string;
  lines: LineChange[];
}

/** Components whose lines are `path=hash`: a path may hold `=`, a hash never does. */
const PATH_LINES = new Set<KeyComponentName>(["sources", "link_inputs", "extra_inputs"]);

/** `name=value` as [name, value]; a bare name (an env-dep that was unset) has no value. */
function splitLine(component: KeyComponentName, line: string): [string, string | null] {
  const at = PATH_LINES.has(component) ? line.lastIndexOf("=") : line.indexOf("=");
  return at <= 0 ? [line, null] : [line.slice(0, at), line.slice(at + 1)];
}

function byName(component: KeyComponentName, lines: string[]): Map<string, (string | null)[]> {
  const names = new Map<string, (string | null)[]>();
  for (const line of lines) {
    const [name, value] = splitLine(component, line);
    names.set(name, [...(names.get(name) ?? []), value]);
  }
  return names;
}

/** Pairs a removed and an added line naming the same thing (once each) into one change. */
function lineChanges(component: KeyComponentName, removed: string[], added: string[]): LineChange[] {
  const before = byName(component, removed);
  const after = byName(component, added);
  const changes: LineChange[] = [];
  for (const [name, values] of before) {
    const now = after.get(name);
    if (values.length === 1 && now?.length === 1) {
      changes.push({ kind: "changed", name, before: values[0]!, after: now[0]! });
      after.delete(name);
    } else for (const value of values) changes.push({ kind: "removed", name, before: value, after: null });
  }
  for (const [name, values] of after)
    for (const value of values) changes.push({ kind: "added", name, before: null, after: value });
  return changes.sort((a, b) => a.name.localeCompare(b.name));
}

export function explainDiff(older: Partial<KeyComponents>, newer: Partial<KeyComponents>): ComponentChange[] {
  return diffComponents(older, newer).map((change) => ({
    component: change.name,
    label: KEY_COMPONENT_LABELS[change.name],
    lines: lineChanges(change.name, change.removed, change.added),
  }));
}

/** How far apart two keys are: differing components first, then differing lines. */
export function diffDistance(older: Partial<KeyComponents>, newer: Partial<KeyComponents>): number {
  const changes = diffComponents(older, newer);
  const lines = changes.reduce((sum, change) => sum + change.added.length + change.removed.length, 0);
  return changes.length * 1_000_000 + lines;
}

/** Hashes shortened, long values cut, a missing value (an unset variable) named as such. */
function shown(value: string | null): string {
  if (value === null) return "(unset)";
  const short = value.replace(/\b[0-9a-f]{64}\b/g, (hash) => hash.slice(0, 12));
  const line = short.split("\n")[0]!;
  return line.length > 100 ? `${line.slice(0, 97)}...` : line;
}

export function describeLine(change: LineChange): string {
  const joined = (value: string | null) => (value === null ? change.name : `${change.name}=${shown(value)}`);
  if (change.kind === "changed")
    return `changed ${change.name}: ${shown(change.before)} -> ${shown(change.after)}`;
  return change.kind === "added" ? `added   ${joined(change.after)}` : `removed ${joined(change.before)}`;
}
