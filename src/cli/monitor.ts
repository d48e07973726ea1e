// `kache monitor [--since DUR]` (and bare `kache` on a terminal): the live dashboard of src/monitor.
import { defineCommand } from "citty";
import { KacheError } from "../util/errors";
import { settingsOrExit } from "./cli-settings";
import { SINCE_FLAG, sinceCutoff } from "./history";

/** Both ends a terminal: the monitor reads keys and draws a screen. */
export function onTerminal(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true;
}

export async function openMonitor(since: string | undefined): Promise<void> {
  const cutoff = sinceCutoff(since);
  if (!onTerminal())
    throw new KacheError(
      "kache monitor needs a terminal",
      "run it in a terminal (over ssh use `ssh -t`); for a one-shot summary run `kache stats`",
    );
  const settings = settingsOrExit();
  const { runMonitor } = await import("../monitor/monitor");
  await runMonitor(settings, cutoff);
}

export const monitorCommand = defineCommand({
  meta: { name: "monitor", description: "Live dashboard of builds, store, transfers and pass-throughs" },
  args: {
    since: SINCE_FLAG,
  },
  async run({ args }) {
    await openMonitor(args.since);
  },
});
