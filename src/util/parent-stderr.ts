// The parent's own stderr, for the lines a wrapper writes while its parent (cargo, or a build
// script for `kache cc`) captures the wrapper's stderr.
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from "node:fs";
import { writeAllSync } from "./write-all";

let opened: number | null | undefined;

function open(): number | null {
  // An orphaned wrapper's parent is init: its stderr is nobody's build log.
  if (process.platform !== "linux" || process.ppid <= 1) return null;
  try {
    const fd = openSync(
      `/proc/${process.ppid}/fd/2`,
      constants.O_WRONLY | constants.O_APPEND | constants.O_NOCTTY,
    );
    const stat = fstatSync(fd);
    if (stat.isFIFO() || stat.isCharacterDevice() || stat.isSocket()) return fd;
    // Never a regular file: the writer's offset and ours would overwrite each other's lines.
    closeSync(fd);
  } catch {
    // not permitted or gone: fall back to our own stderr
  }
  return null;
}

/** The parent's stderr, opened once, or null where it cannot be (then our own stderr serves). */
export function parentStderr(): number | null {
  if (opened === undefined) opened = open();
  return opened;
}

function parentIsCargo(): boolean {
  try {
    // Packagers rename it: Nix's wrapper runs `.cargo-wrapped`.
    return readFileSync(`/proc/${process.ppid}/comm`, "utf8").includes("cargo");
  } catch {
    return false;
  }
}

let cargo: number | null | undefined;

/**
 * Cargo's stderr when cargo runs this wrapper, else null. Cargo stores every stderr line of rustc
 * and replays it while the unit is fresh, so a line written to our own stderr would come back on
 * every later build, long after what it said stopped being true. Anyone else (a build script's
 * probe, a test, another build system) reads our stderr as it is.
 */
export function cargoStderr(): number | null {
  if (cargo === undefined) cargo = parentIsCargo() ? parentStderr() : null;
  return cargo;
}

/** A terminal: a character device that is not /dev/null. */
export function isTerminal(fd: number): boolean {
  const stat = fstatSync(fd);
  return stat.isCharacterDevice() && stat.rdev !== statSync("/dev/null").rdev;
}

/** One line to cargo's stderr (or ours); on a terminal, over cargo's progress bar. */
export function writeToCargoStderr(line: string): void {
  const fd = cargoStderr() ?? 2;
  try {
    const overBar = isTerminal(fd) && process.env.TERM !== "dumb" ? "\r\x1b[K" : "";
    writeAllSync(fd, `${overBar}${line}`);
  } catch {
    // cargo went away; nothing to tell
  }
}
