// CLI mode: the citty command tree, each command in its own file and loaded only when used.
import { defineCommand, renderUsage, runCommand } from "citty";
import { describeError, KacheError } from "../util/errors";
import { VERSION } from "../version";
import { paintFor, writeErr, writeOut } from "./colour";
import type { Command } from "./command-tree";
import { commandLine, resolveCommand, wantsHelp } from "./usage-check";

const main = defineCommand({
  meta: { name: "kache", version: VERSION, description: "Zero-copy, content-addressed build cache for Rust" },
  subCommands: {
    init: () => import("./init").then((m) => m.initCommand),
    doctor: () => import("./doctor").then((m) => m.doctorCommand),
    daemon: () => import("./daemon").then((m) => m.daemonCommand),
    stats: () => import("./stats").then((m) => m.statsCommand),
    list: () => import("./list").then((m) => m.listCommand),
    "why-miss": () => import("./why-miss").then((m) => m.whyMissCommand),
    report: () => import("./report").then((m) => m.reportCommand),
    sync: () => import("./sync").then((m) => m.syncCommand),
    "save-manifest": () => import("./save-manifest").then((m) => m.saveManifestCommand),
    config: () => import("./config").then((m) => m.configCommand),
    clean: () => import("./clean").then((m) => m.cleanCommand),
    completions: () => import("./completions").then((m) => m.completionsCommand),
    gc: () => import("./gc").then((m) => m.gcCommand),
    purge: () => import("./purge").then((m) => m.purgeCommand),
    monitor: () => import("./monitor").then((m) => m.monitorCommand),
    "install-shims": () => import("./install-shims").then((m) => m.installShimsCommand),
  },
});

/** The root of the tree, for what walks all of it (completions, tests). */
export const rootCommand: Command = main;

async function printUsage(words: string[]): Promise<void> {
  const { command, path } = await resolveCommand(main, words, false);
  // citty names a command by its parent's name and its own: give it the whole path as the parent's.
  const parent =
    path.length > 0 ? { meta: { name: commandLine(path.slice(0, -1)), version: VERSION } } : undefined;
  const usage = await renderUsage(command, parent);
  writeOut(`${usage.replace(/[ \t]+$/gm, "")}\n\n`);
}

function isCittyUsageError(error: unknown): boolean {
  return (error as { name?: string })?.name === "CLIError";
}

function exitCodeOf(error: unknown): number {
  if (error instanceof KacheError) return error.exitCode;
  return isCittyUsageError(error) ? 2 : 1;
}

function reportError(error: unknown): never {
  const hint = isCittyUsageError(error) ? " (see `kache --help`)" : "";
  writeErr(`kache: ${paintFor(process.stderr).red("error")}: ${describeError(error)}${hint}\n`);
  process.exit(exitCodeOf(error));
}

/** `kache list | head`: a reader that stops early ends the command quietly, as it would `ls`. */
function isClosedPipe(error: unknown): boolean {
  return (error as { code?: string })?.code === "EPIPE";
}

export async function runCli(args: string[]): Promise<void> {
  process.stdout.on("error", (error) => {
    if (isClosedPipe(error)) process.exit(0);
    throw error;
  });
  try {
    if ((args.length === 1 && (args[0] === "--version" || args[0] === "-V")) || args[0] === "version") {
      writeOut(`kache ${VERSION}\n`);
      return;
    }
    // Bare `kache` opens the monitor on a terminal (SPEC §10), and prints help anywhere else.
    if (args.length === 0) {
      const { onTerminal, openMonitor } = await import("./monitor");
      return onTerminal() ? await openMonitor(undefined) : await printUsage([]);
    }
    if (args[0] === "help") return await printUsage(args.slice(1));
    if (wantsHelp(args)) return await printUsage(args);
    await resolveCommand(main, args, true);
    await runCommand(main, { rawArgs: args });
  } catch (error) {
    if (isClosedPipe(error)) process.exit(0);
    reportError(error);
  }
}
