// `kache why-miss CRATE`: which key components changed between the crate's two newest entries.
import { defineCommand } from "citty";
import { loadSettings } from "../config/load";
import { IndexDb } from "../store/index-db";
import { diffComponents, KEY_COMPONENT_LABELS, type KeyComponents } from "../wrapper/cache-key";

function explain(crate: string, cacheDir: string): string[] {
  const index = IndexDb.open(cacheDir);
  try {
    const [newer, older] = index.entriesForCrate(crate, 2);
    if (!newer) return [`no entries for ${crate} in ${cacheDir}`];
    if (!older) return [`${crate} has one entry (${newer.key.slice(0, 12)}); nothing to compare it with`];
    const changes = diffComponents(
      older.components as Partial<KeyComponents>,
      newer.components as Partial<KeyComponents>,
    );
    if (changes.length === 0) return [`${crate}: the two newest keys have the same components`];
    const lines = [`${crate}: ${older.key.slice(0, 12)} -> ${newer.key.slice(0, 12)}`];
    for (const change of changes) {
      lines.push(`  ${change.name}: ${KEY_COMPONENT_LABELS[change.name]} changed`);
      for (const line of change.removed.slice(0, 10)) lines.push(`    - ${line.split("\n")[0]}`);
      for (const line of change.added.slice(0, 10)) lines.push(`    + ${line.split("\n")[0]}`);
    }
    return lines;
  } finally {
    index.close();
  }
}

export const whyMissCommand = defineCommand({
  meta: { name: "why-miss", description: "Show which key component changed for a crate" },
  args: {
    crate: { type: "positional", required: true, description: "crate name as rustc sees it (underscores)" },
  },
  run({ args }) {
    const { settings } = loadSettings();
    for (const line of explain(String(args.crate), settings.cacheDir)) process.stdout.write(`${line}\n`);
  },
});
