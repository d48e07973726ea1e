// The builds a developer runs all day: one function added to the big member and `cargo build` or
// `cargo check` (rust-analyzer runs check on every save), and switching between two branches.

import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Mode } from "./modes";

/** The member of a few thousand lines the edit loop changes (bench/workload/ledger). */
const editedFile = join("ledger", "src", "account.rs");
export const editsPerLoop = 5;
/**
 * A developer reads the result and types before the next build: every mode gets the same second
 * between builds here. (It also lets work a tool does after a build returns, such as kache's
 * background stores, finish as it would between real edits instead of landing on the next timing.)
 */
export const thinkMs = 1000;

export type CargoCommand = "build" | "check";
export type TimeCargo = (mode: Mode, command: CargoCommand) => Promise<number>;
export type Record = (value: number) => void;

export type RecordFor = (mode: Mode) => Record;

function addFunction(mode: Mode, round: number, edit: number): void {
  appendFileSync(
    join(mode.workspace, editedFile),
    `\n/// Added by the benchmark (round ${round}, edit ${edit}).\n` +
      `pub fn added_${round}_${edit}(items: &[Account]) -> i64 {\n` +
      `    items.iter().map(|item| item.total() * ${edit}).sum::<i64>() + ${round}\n}\n`,
  );
}

/**
 * Adds one function per edit and times `cargo <command>` after each, the modes taking turns edit
 * by edit so that a drift of the machine's speed reaches all of them alike (each edit's builds are
 * the pairs the verdict compares); then puts the file back.
 */
export async function editLoop(
  modes: Mode[],
  command: CargoCommand,
  round: number,
  time: TimeCargo,
  record: RecordFor,
) {
  const originals = modes.map((mode) => readFileSync(join(mode.workspace, editedFile), "utf8"));
  try {
    for (let edit = 1; edit <= editsPerLoop; edit++) {
      // Every other edit in mirrored order: no mode always builds right after another one.
      for (const mode of edit % 2 ? modes : [...modes].reverse()) {
        await Bun.sleep(thinkMs);
        addFunction(mode, round, edit);
        record(mode)(await time(mode, command));
      }
    }
  } finally {
    for (const [i, mode] of modes.entries()) writeFileSync(join(mode.workspace, editedFile), originals[i]!);
  }
}

function git(mode: Mode, args: string[]): void {
  const result = Bun.spawnSync(["git", "-c", "user.email=bench@kache", "-c", "user.name=bench", ...args], {
    cwd: mode.workspace,
    env: mode.env,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (result.exitCode !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr.toString()}`);
}

/** The other branch: the shared model crate and three ledger modules changed, as a feature would. */
const featureEdits: [string, string, string][] = [
  [join("model", "src", "lib.rs"), "pub struct Summary", "/// Per-file figures.\npub struct Summary"],
  [join("ledger", "src", "journal.rs"), "% 97", "% 89"],
  [join("ledger", "src", "invoice.rs"), "% 97", "% 83"],
  [join("ledger", "src", "tax.rs"), "(0..(id % 7 + 1))", "(0..(id % 9 + 1))"],
];

/** Makes the workspace copy a git repository with `main` as it is and a `feature` branch. */
export function prepareBranches(mode: Mode): void {
  git(mode, ["init", "-q", "-b", "main"]);
  writeFileSync(join(mode.workspace, ".gitignore"), "target/\n");
  git(mode, ["add", "-A"]);
  git(mode, ["commit", "-q", "-m", "main"]);
  git(mode, ["checkout", "-q", "-b", "feature"]);
  for (const [file, from, to] of featureEdits) {
    const path = join(mode.workspace, file);
    const text = readFileSync(path, "utf8");
    if (!text.includes(from)) throw new Error(`${file} no longer contains ${JSON.stringify(from)}`);
    writeFileSync(path, text.replace(from, to));
  }
  git(mode, ["commit", "-q", "-am", "feature"]);
  git(mode, ["checkout", "-q", "main"]);
}

/**
 * From a built `main`: to `feature` for the first time (new to every cache), then back and forth
 * between two revisions that have both been built, which is what a developer does all day. The
 * modes take turns switch by switch.
 */
export async function branchSwitches(
  modes: Mode[],
  time: TimeCargo,
  recordFirst: RecordFor,
  recordSwitch: RecordFor,
): Promise<void> {
  for (const [i, branch] of ["feature", "main", "feature", "main"].entries()) {
    for (const mode of modes) {
      await Bun.sleep(thinkMs);
      git(mode, ["checkout", "-q", branch]);
      (i === 0 ? recordFirst : recordSwitch)(mode)(await time(mode, "build"));
    }
  }
}
