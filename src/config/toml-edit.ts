// Format-preserving edits of a TOML file (cargo's config.toml, kache's config.toml): one key set
// or removed, every other byte, comment and table kept. `@decimalturn/toml-patch` diffs the
// parsed document against the edited one and rewrites only what changed. CLI only.
import { parse, patch } from "@decimalturn/toml-patch";
import { KacheError } from "../util/errors";

export type TomlScalar = string | number | boolean | string[];

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Parses `text` (the contents of `file`, named in the error) into a plain object. */
export function parseToml(text: string, file: string): Table {
  try {
    return parse(text) as Table;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new KacheError(`${file} is not valid TOML: ${reason}`, "fix the file by hand, then run this again");
  }
}

/** The value at a dotted path (`["build", "rustc-wrapper"]`), or undefined. */
export function tomlValue(document: Table, path: readonly string[]): unknown {
  let node: unknown = document;
  for (const part of path) {
    if (!isTable(node)) return undefined;
    node = node[part];
  }
  return node;
}

function withTrailingNewline(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}

/** `text` with `path` set to `value`, creating the tables on the way; nothing else changes. */
export function setTomlValue(text: string, file: string, path: readonly string[], value: TomlScalar): string {
  const document = parseToml(text, file);
  let node = document;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (next === undefined) node[part] = {};
    else if (!isTable(next)) {
      throw new KacheError(
        `${file}: \`${path.join(".")}\` cannot be set: \`${part}\` is not a table`,
        "fix the file by hand",
      );
    }
    node = node[part] as Table;
  }
  node[path[path.length - 1] as string] = value;
  return withTrailingNewline(patch(text, document));
}

/** `text` without the key at `path` (unchanged when it is absent); nothing else changes. */
export function removeTomlValue(text: string, file: string, path: readonly string[]): string {
  const document = parseToml(text, file);
  const parent = tomlValue(document, path.slice(0, -1));
  const last = path[path.length - 1] as string;
  if (!isTable(parent) || !(last in parent)) return text;
  delete parent[last];
  return withTrailingNewline(patch(text, document));
}
