// `kache completions bash|zsh|fish`: a completion script on stdout, generated from the command tree
// (every command loaded), so a command added to the tree is completed without touching this file.
import { defineCommand } from "citty";
import { KacheError } from "../util/errors";
import { writeOut } from "./colour";
import { describeTree } from "./command-tree";
import { bashScript } from "./completion-bash";
import { fishScript } from "./completion-fish";
import { type CommandSpec, completionSpecs } from "./completion-spec";
import { zshScript } from "./completion-zsh";

const SCRIPTS: Record<string, (specs: CommandSpec[]) => string> = {
  bash: bashScript,
  zsh: zshScript,
  fish: fishScript,
};

export const completionsCommand = defineCommand({
  meta: { name: "completions", description: "Print a shell completion script (bash, zsh or fish)" },
  args: {
    shell: {
      type: "positional",
      required: true,
      valueHint: "bash|zsh|fish",
      description: "the shell to complete for",
    },
  },
  async run({ args }) {
    const script = SCRIPTS[String(args.shell)];
    if (!script) throw new KacheError(`no completions for "${args.shell}"`, "use bash, zsh or fish", 2);
    // Imported here, not at the top: run-cli loads this file lazily, from its own tree.
    const { rootCommand } = await import("./run-cli");
    writeOut(script(completionSpecs(await describeTree(rootCommand))));
  },
});
