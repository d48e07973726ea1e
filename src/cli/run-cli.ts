// CLI mode: the citty command tree, each command in its own file and loaded only when used.
import { defineCommand, runCommand, runMain, showUsage } from "citty";
import { describeError, KacheError } from "../util/errors";
import { VERSION } from "../version";

const main = defineCommand({
  meta: { name: "kache", version: VERSION, description: "Zero-copy, content-addressed build cache for Rust" },
  subCommands: {
    daemon: () => import("./daemon").then((m) => m.daemonCommand),
    "why-miss": () => import("./why-miss").then((m) => m.whyMissCommand),
    sync: () => import("./sync").then((m) => m.syncCommand),
    "save-manifest": () => import("./save-manifest").then((m) => m.saveManifestCommand),
    gc: () => import("./gc").then((m) => m.gcCommand),
    purge: () => import("./purge").then((m) => m.purgeCommand),
  },
});

function isUsageError(error: unknown): boolean {
  return (error as { name?: string })?.name === "CLIError";
}

export async function runCli(args: string[]): Promise<void> {
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    process.stdout.write(`kache ${VERSION}\n`);
    return;
  }
  if (args.length === 0) {
    await showUsage(main);
    return;
  }
  // citty resolves the sub-command whose usage to show.
  if (args.includes("--help") || args.includes("-h")) return runMain(main, { rawArgs: args });
  try {
    await runCommand(main, { rawArgs: args });
  } catch (error) {
    if (isUsageError(error)) {
      process.stderr.write(`kache: ${describeError(error)} (see \`kache --help\`)\n`);
      process.exit(2);
    }
    process.stderr.write(`kache: error: ${describeError(error)}\n`);
    process.exit(error instanceof KacheError ? error.exitCode : 1);
  }
}
