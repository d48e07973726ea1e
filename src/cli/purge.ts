// `kache purge [--crate-name N] [--yes]`: removes local entries, all or one crate's, and the blobs
// only they used. The remote cache is never touched. Asks first on a terminal; refuses elsewhere.

import { createInterface } from "node:readline/promises";
import { defineCommand } from "citty";
import type { Settings } from "../config/settings";
import type { GcRow } from "../store/gc-index";
import { KacheError } from "../util/errors";
import { formatBytes, formatLimit } from "../util/size";
import { settingsOrExit } from "./cli-settings";
import { writeOut } from "./colour";
import { count, madeRoomLine, runUpkeep } from "./gc";

function out(line: string): void {
  writeOut(`${line}\n`);
}

/** Cargo's package names use hyphens where rustc's crate names have underscores: take either. */
function crateSelector(name: string | undefined): (row: GcRow) => boolean {
  if (name === undefined) return () => true;
  const crate = name.replaceAll("-", "_");
  return (row) => row.crate === crate;
}

async function confirmed(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

async function purge(settings: Settings, select: (row: GcRow) => boolean, dryRun: boolean) {
  const report = await runUpkeep(settings, {
    background: false,
    options: { maxAgeMs: null, dryRun, purge: select },
  });
  return report!;
}

export const purgeCommand = defineCommand({
  meta: { name: "purge", description: "Remove local cache entries (all, or one crate's); never remote ones" },
  args: {
    "crate-name": {
      type: "string",
      description: "only this crate's entries (as rustc names it)",
      valueHint: "N",
    },
    yes: { type: "boolean", alias: "y", description: "do not ask" },
  },
  async run({ args }) {
    const settings = settingsOrExit();
    const crate = args["crate-name"];
    const select = crateSelector(crate);
    const of = crate === undefined ? "" : ` of ${crate.replaceAll("-", "_")}`;
    const what = `the local entries${of}`;
    if (!args.yes) {
      if (!process.stdin.isTTY)
        throw new KacheError(
          `not purging ${what} without confirmation`,
          "pass --yes to purge without a terminal",
          2,
        );
      const plan = await purge(settings, select, true);
      if (plan.removed.length === 0) {
        out(`nothing to purge: no local entries${of}`);
        return;
      }
      const size = formatBytes(plan.freed.bytes);
      if (
        !(await confirmed(
          `Remove ${count(plan.removed.length, "entry", "entries")} (${size}) from ${settings.cacheDir}? The remote cache is not touched.`,
        ))
      ) {
        out("nothing purged");
        return;
      }
    }
    const report = await purge(settings, select, false);
    if (report.madeRoom) out(madeRoomLine(report.madeRoom));
    const purged = report.removed.filter((entry) => entry.why === "purged").length;
    out(
      `purged ${count(purged, "entry", "entries")} (${formatBytes(report.freed.bytes)} of blobs) from ${settings.cacheDir}`,
    );
    out(
      `store now: ${formatBytes(report.afterBytes)} of ${formatLimit(report.limitBytes)}; the remote cache was not touched`,
    );
  },
});
