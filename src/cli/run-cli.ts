// CLI mode: the citty command tree, each command in its own file and loaded only when used.
import { defineCommand, runMain } from "citty";
import { VERSION } from "../version";

const main = defineCommand({
  meta: { name: "kache", version: VERSION, description: "Zero-copy, content-addressed build cache for Rust" },
  subCommands: {
    "why-miss": () => import("./why-miss").then((m) => m.whyMissCommand),
  },
});

export async function runCli(args: string[]): Promise<void> {
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    process.stdout.write(`kache ${VERSION}\n`);
    return;
  }
  await runMain(main, { rawArgs: args });
}
