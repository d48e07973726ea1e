// `kache init [-y] [--no-service] [--no-cc] [--check]`: points cargo's rustc wrapper (and its build
// scripts' C/C++ compilers) at this kache in $CARGO_HOME's config, every other byte kept; installs the
// daemon's service and starts it.

import { readSync } from "node:fs";
import { dirname } from "node:path";
import { defineCommand } from "citty";
import { formatIssue, loadSettings } from "../config/load";
import { KacheError } from "../util/errors";
import { ccCheck, setUpCc } from "./cc-setup";
import { hasProblem, printChecks } from "./check-report";
import { writeErr, writeOut } from "./colour";
import { setUpService } from "./init-service";
import { serviceCheck, wrapperCheck } from "./setup-checks";
import {
  cargoConfigIn,
  cargoHome,
  classifyWrapper,
  displayPath,
  kacheProgram,
  readConfigWrapper,
  type WrapperKind,
  wrapperSources,
  writeConfigWrapper,
} from "./wrapper-setup";

function out(line: string): void {
  writeOut(`${line}\n`);
}

/** One answer typed at the terminal; false without a terminal, so scripts never hang on a question. */
function askYes(question: string): boolean {
  if (!process.stdin.isTTY || !process.stdout.isTTY) return false;
  writeOut(`${question} [y/N] `);
  const buffer = Buffer.alloc(256);
  let answer = "";
  while (!answer.includes("\n")) {
    let read = 0;
    try {
      read = readSync(0, buffer, 0, buffer.length, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EAGAIN") {
        Bun.sleepSync(20);
        continue;
      }
      throw error;
    }
    if (read === 0) break;
    answer += buffer.subarray(0, read).toString("utf8");
  }
  return /^\s*y(es)?\s*$/i.test(answer);
}

const KIND_WORDS: Record<WrapperKind, string> = {
  kache: "this kache",
  "other-kache": "another kache binary",
  sccache: "sccache",
  other: "another wrapper",
  missing: "a program that does not exist",
  disabled: "nothing",
};

/** Sets the wrapper in $CARGO_HOME's config; true when the file changed. */
function setWrapper(program: string, replace: boolean): boolean {
  const home = cargoHome();
  const config = cargoConfigIn(home);
  const shown = displayPath(config.path);
  if (config.ignored)
    out(
      `note: cargo reads ${shown} and ignores ${displayPath(config.ignored)} beside it, so kache edits ${shown}`,
    );
  const current = readConfigWrapper(config.path);
  if (current !== undefined) {
    const kind = classifyWrapper({ where: config.path, value: current, baseDir: dirname(home) });
    if (kind === "kache") {
      out(`cargo config: ${shown} already sets build.rustc-wrapper = "${current}" (unchanged)`);
      return false;
    }
    out(`cargo config: ${shown} sets build.rustc-wrapper = "${current}" (${KIND_WORDS[kind]})`);
    if (!replace && !askYes(`Replace "${current}" with kache?`)) {
      throw new KacheError(
        `left build.rustc-wrapper = "${current}" in ${shown}; cargo does not build through kache`,
        "run `kache init -y` to replace it with kache",
      );
    }
  }
  writeConfigWrapper(config.path, program);
  const change =
    current === undefined
      ? `set build.rustc-wrapper = "${program}"`
      : `replaced build.rustc-wrapper = "${current}" with "${program}"`;
  out(`cargo config: ${change} in ${shown}`);
  return true;
}

/** An env var, or a project's `.cargo/config.toml` here, beats $CARGO_HOME's config: say so. */
function warnAboutOverrides(): void {
  const [effective] = wrapperSources("wrapper").sources;
  const home = cargoConfigIn(cargoHome()).path;
  if (!effective || effective.file === home || classifyWrapper(effective) === "kache") return;
  const fix = effective.file
    ? `remove build.rustc-wrapper from ${displayPath(effective.file)}`
    : "unset it and remove it from your shell profile";
  const what = effective.file
    ? `${displayPath(effective.file)} sets build.rustc-wrapper = "${effective.value}", which cargo prefers here over ${displayPath(home)}`
    : `${effective.where}="${effective.value}" in this shell overrides the cargo config`;
  writeErr(`kache: warning: ${what} (${fix})\n`);
}

function runCheck(service: boolean, cc: boolean): never {
  const context = { env: process.env, cwd: process.cwd(), purgeSccache: false };
  const { settings } = loadSettings();
  const checks = [
    wrapperCheck(context),
    ...(cc ? [ccCheck(settings.cacheDir, context.env, context.cwd, "problem")] : []),
    ...(service ? [serviceCheck(process.env)] : []),
  ];
  printChecks(checks, false);
  process.exit(hasProblem(checks) ? 1 : 0);
}

export const initCommand = defineCommand({
  meta: {
    name: "init",
    description:
      "Make cargo build through kache: set build.rustc-wrapper in ~/.cargo/config.toml, start the daemon",
  },
  args: {
    yes: {
      type: "boolean",
      alias: "y",
      description: "replace another rustc wrapper (sccache) without asking",
    },
    service: {
      type: "boolean",
      default: true,
      description: "install the daemon's user service and start it",
      negativeDescription: "set the wrapper only: no service, no daemon",
    },
    cc: {
      type: "boolean",
      default: true,
      description: "point cargo's [env] CC_<host>/CXX_<host> at kache's C/C++ shims for build scripts",
      negativeDescription: "leave C and C++ alone: no shims, no [env] keys",
    },
    check: { type: "boolean", description: "change nothing; exit 1 and name what is missing" },
  },
  async run({ args }) {
    if (args.check) runCheck(Boolean(args.service), Boolean(args.cc));
    const program = kacheProgram();
    const { settings, errors } = loadSettings();
    const changed = setWrapper(program, Boolean(args.yes));
    warnAboutOverrides();
    let ccChanged = false;
    if (args.cc) {
      const step = setUpCc(settings.cacheDir, program, process.env, process.cwd());
      for (const line of step.lines) out(line);
      ccChanged = step.changed;
    }
    let serviceChanged = false;
    if (args.service) {
      if (errors[0])
        throw new KacheError(`config: ${formatIssue(errors[0])}`, "fix it, then run `kache init` again");
      const step = await setUpService(settings, program);
      for (const line of step.lines) out(line);
      serviceChanged = step.changed;
    }
    out(
      changed || ccChanged || serviceChanged
        ? "kache is set up: cargo now builds through kache"
        : "nothing to change: kache was already set up",
    );
  },
});
