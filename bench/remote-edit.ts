// The `cargo check` edit loop on a machine with a remote configured (its daemon running, its cache
// warm from the bucket), side by side with plain cargo: what every save costs a team member. A
// member edited where its outputs are compiles at once, as without a remote: no dep-info pre-pass.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { editLoop } from "./edit-loop";
import type { Mode } from "./modes";
import { time } from "./scenarios";

export interface RemoteEditFigures {
  /** Seconds per edit, the two modes taking turns edit by edit. */
  none: number[];
  kache: number[];
  /** kache's misses in the loop, and how many of them ran a dep-info pre-pass. */
  misses: number;
  prepasses: number;
}

function eventLines(cacheDir: string): string[] {
  try {
    return readFileSync(join(cacheDir, "events.jsonl"), "utf8")
      .split("\n")
      .filter((line) => line.trim());
  } catch {
    return [];
  }
}

export async function remoteEditLoop(
  none: Mode,
  workspace: string,
  env: Record<string, string>,
): Promise<RemoteEditFigures> {
  const kache: Mode = { name: "kache", workspace, env, resetCache() {}, stop() {} };
  const figures: RemoteEditFigures = { none: [], kache: [], misses: 0, prepasses: 0 };
  for (const mode of [none, kache]) await time(mode, "check"); // check's own units, once
  const before = eventLines(env.KACHE_CACHE_DIR!).length;
  const record = (mode: Mode) => (seconds: number) => {
    figures[mode.name === "none" ? "none" : "kache"].push(seconds);
    console.log(`  ${mode.name.padEnd(8)} remoteEdit     ${seconds.toFixed(2)} s`);
  };
  await editLoop([none, kache], "check", 0, time, record);
  const misses = eventLines(env.KACHE_CACHE_DIR!)
    .slice(before)
    .map((line) => JSON.parse(line) as { outcome?: string; prepass?: boolean })
    .filter((event) => event.outcome === "miss");
  figures.misses = misses.length;
  figures.prepasses = misses.filter((event) => event.prepass).length;
  return figures;
}
