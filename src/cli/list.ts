// `kache list [CRATE] [--sort name|size|hits|age] [--json]`: the store's entries as a table, or one
// crate's entries in detail.

import { defineCommand } from "citty";
import type { Entry } from "../store/index-db";
import { KacheError } from "../util/errors";
import { formatBytes, formatDuration } from "../util/size";
import { settingsOrExit } from "./cli-settings";
import { writeOut } from "./colour";
import { crateName } from "./history";
import { documentHead } from "./insight";
import { type IndexContents, readIndex } from "./store-summary";
import { formatAgo, formatTime, textTable } from "./table";

export const SORT_ORDERS = {
  name: "crate name, then target and profile",
  size: "largest first",
  hits: "most hits first",
  age: "most recently used first",
} as const;

type SortOrder = keyof typeof SORT_ORDERS;

function byName(a: Entry, b: Entry): number {
  return (
    a.crate.localeCompare(b.crate) ||
    a.target.localeCompare(b.target) ||
    a.profile.localeCompare(b.profile) ||
    b.lastUsed - a.lastUsed
  );
}

const COMPARE: Record<SortOrder, (a: Entry, b: Entry) => number> = {
  name: byName,
  size: (a, b) => b.size - a.size || byName(a, b),
  hits: (a, b) => b.hits - a.hits || byName(a, b),
  age: (a, b) => b.lastUsed - a.lastUsed || byName(a, b),
};

function sortOrder(value: string | undefined): SortOrder {
  if (value === undefined) return "name";
  if (value in SORT_ORDERS) return value as SortOrder;
  throw new KacheError(
    `--sort: unknown order "${value}"`,
    `use one of ${Object.keys(SORT_ORDERS).join(", ")}`,
    2,
  );
}

/** One entry in the `list --json` shape (documented in the README). */
export function entryDocument(entry: Entry, contents: IndexContents) {
  return {
    key: entry.key,
    crate: entry.crate,
    crate_types: entry.crateTypes,
    target: entry.target,
    profile: entry.profile,
    features: entry.features,
    size: entry.size,
    hits: entry.hits,
    compile_ms: entry.compileMs,
    created: new Date(entry.created).toISOString(),
    last_used: new Date(entry.lastUsed).toISOString(),
    bound_to: contents.bindings.get(entry.key)?.split(",") ?? null,
    files: entry.files.map((file) => ({
      name: file.name,
      size: file.size,
      blob: file.blob,
      executable: file.executable,
      dep_info: file.depInfo,
    })),
  };
}

function table(entries: Entry[]): string {
  const now = Date.now();
  return textTable(
    [
      { header: "CRATE" },
      { header: "TYPES" },
      { header: "TARGET" },
      { header: "PROFILE" },
      { header: "SIZE", align: "right" },
      { header: "HITS", align: "right" },
      { header: "LAST USED", align: "right" },
    ],
    entries.map((entry) => [
      entry.crate,
      entry.crateTypes.join(","),
      entry.target,
      entry.profile,
      formatBytes(entry.size),
      String(entry.hits),
      formatAgo(entry.lastUsed, now),
    ]),
  );
}

function binding(entry: Entry, contents: IndexContents): string {
  const roots = contents.bindings.get(entry.key);
  return roots ? `bound to ${roots.split(",").join(", ")} (its outputs embed these local paths)` : "portable";
}

function details(entry: Entry, contents: IndexContents): string {
  const lines = [
    `${entry.crate} ${entry.key.slice(0, 12)}`,
    `  key:          ${entry.key}`,
    `  crate types:  ${entry.crateTypes.join(", ")}`,
    `  target:       ${entry.target}`,
    `  profile:      ${entry.profile}`,
    `  features:     ${entry.features.length ? entry.features.join(", ") : "(none)"}`,
    `  size:         ${formatBytes(entry.size)} in ${entry.files.length} files`,
    `  hits:         ${entry.hits}`,
    `  compile time: ${formatDuration(entry.compileMs)}`,
    `  created:      ${formatTime(entry.created)}`,
    `  last used:    ${formatTime(entry.lastUsed)} (${formatAgo(entry.lastUsed)})`,
    `  location:     ${binding(entry, contents)}`,
    "  files:",
  ];
  const files = textTable(
    [{ header: "NAME" }, { header: "SIZE", align: "right" }, { header: "BLOB" }],
    entry.files.map((file) => [file.name, formatBytes(file.size), file.blob.slice(0, 16)]),
    false,
  );
  for (const line of files.trimEnd().split("\n").slice(1)) lines.push(`    ${line}`);
  return `${lines.join("\n")}\n`;
}

export const listCommand = defineCommand({
  meta: { name: "list", description: "List the store's entries, or one crate's entries in detail" },
  args: {
    crate: { type: "positional", required: false, description: "a crate name: show its entries in detail" },
    sort: { type: "string", description: `order: ${Object.keys(SORT_ORDERS).join(", ")} (default name)` },
    json: { type: "boolean", description: "print JSON (fields documented in the README)" },
  },
  run({ args }) {
    const order = sortOrder(args.sort);
    const settings = settingsOrExit();
    const contents = readIndex(settings.cacheDir);
    const crate = args.crate ? crateName(String(args.crate)) : null;
    const entries = contents.entries
      .filter((entry) => crate === null || entry.crate === crate)
      .sort(COMPARE[order]);
    if (crate !== null && entries.length === 0)
      throw new KacheError(
        `no entries for ${crate} in ${settings.cacheDir}`,
        "`kache list` shows the crates the store holds",
      );
    if (args.json) {
      const document = {
        ...documentHead(settings),
        entries: entries.map((entry) => entryDocument(entry, contents)),
      };
      writeOut(`${JSON.stringify(document, null, 2)}\n`);
    } else if (crate === null) {
      writeOut(entries.length ? table(entries) : `no entries in ${settings.cacheDir}\n`);
    } else writeOut(entries.map((entry) => details(entry, contents)).join("\n"));
  },
});
