// `kache clean [--dry-run] [--yes]`: lists the cargo target dirs below the cwd with their size and
// how much of it the store already holds, and deletes the ones picked (all with --yes).
import { relative } from "node:path";
import { defineCommand } from "citty";
import { KacheError } from "../util/errors";
import { formatBytes } from "../util/size";
import { settingsOrExit } from "./cli-settings";
import { paintFor, writeErr, writeOut } from "./colour";
import {
  findTargetDirs,
  measureTargetDir,
  readStoreBlobs,
  removeTargetDir,
  type StoreBlobs,
  type TargetDir,
} from "./target-dirs";

function shown(root: string, target: TargetDir): string {
  return relative(root, target.path) || ".";
}

function describe(target: TargetDir): string {
  return `${formatBytes(target.bytes)}, ${formatBytes(target.storedBytes)} in store`;
}

function printTable(root: string, targets: TargetDir[], cacheDir: string): void {
  const paint = paintFor(process.stdout);
  const rows = targets.map((target) => [
    formatBytes(target.bytes),
    formatBytes(target.storedBytes),
    shown(root, target),
  ]);
  const total = (pick: (target: TargetDir) => number) =>
    formatBytes(targets.reduce((sum, t) => sum + pick(t), 0));
  rows.push([
    total((t) => t.bytes),
    total((t) => t.storedBytes),
    targets.length === 1 ? "1 target dir" : `${targets.length} target dirs`,
  ]);
  const widths = [0, 1].map((column) => Math.max(8, ...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    `${row[0]!.padStart(widths[0]!)}  ${row[1]!.padStart(widths[1]!)}  ${row[2]}`;
  writeOut(`${paint.bold(line(["size", "in store", "target dir"]))}\n`);
  for (const row of rows.slice(0, -1)) writeOut(`${line(row)}\n`);
  writeOut(`${paint.dim(line(rows.at(-1)!))}\n`);
  writeOut(
    paint.dim(
      `in store: bytes of files that are hardlinks of blobs in ${cacheDir}/store, or copies of a stored file (same size and xxHash3)\n`,
    ),
  );
}

/** The interactive picker: null when the user cancels. */
async function pickTargets(root: string, targets: TargetDir[]): Promise<TargetDir[] | null> {
  const { isCancel, multiselect } = await import("@clack/prompts");
  const width = Math.max(...targets.map((target) => shown(root, target).length));
  const chosen = await multiselect({
    message: "Target dirs to delete",
    options: targets.map((target) => ({
      value: target.path,
      label: `${shown(root, target).padEnd(width)}  ${describe(target)}`,
    })),
    required: false,
  });
  if (isCancel(chosen)) return null;
  return targets.filter((target) => chosen.includes(target.path));
}

function removeAll(root: string, targets: TargetDir[]): void {
  let bytes = 0;
  let linkedBytes = 0;
  for (const target of targets) {
    if (!removeTargetDir(target)) {
      writeErr(`kache: skipped ${shown(root, target)}: it changed since the scan\n`);
      continue;
    }
    bytes += target.bytes;
    linkedBytes += target.linkedBytes;
    writeOut(`deleted ${shown(root, target)} (${formatBytes(target.bytes)})\n`);
  }
  // A hardlink's bytes stay on disk as the blob: only the rest is freed.
  const kept =
    linkedBytes > 0 ? ` (${formatBytes(linkedBytes)} of hardlinks stays on disk as store blobs)` : "";
  writeOut(`freed ${formatBytes(bytes - linkedBytes)}${kept}\n`);
}

export const cleanCommand = defineCommand({
  meta: {
    name: "clean",
    description: "Find cargo target dirs below the current dir and delete the ones picked",
  },
  args: {
    "dry-run": { type: "boolean", description: "list the target dirs and delete nothing" },
    yes: { type: "boolean", alias: "y", description: "delete every target dir listed, without asking" },
  },
  async run({ args }) {
    const settings = settingsOrExit();
    const root = process.cwd();
    const unreadable: string[] = [];
    const paths = findTargetDirs(root, unreadable);
    if (unreadable.length > 0) writeErr(`kache: could not read ${unreadable.length} dirs (not searched)\n`);
    if (paths.length === 0) {
      writeOut(`no cargo target dirs below ${root}\n`);
      return;
    }
    let blobs: StoreBlobs | undefined;
    const storeBlobs = () => {
      blobs ??= readStoreBlobs(settings.cacheDir);
      return blobs;
    };
    const targets = paths.map((path) => measureTargetDir(path, storeBlobs));
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
    if (args["dry-run"] || args.yes || !interactive) printTable(root, targets, settings.cacheDir);
    if (args["dry-run"]) return;
    if (!args.yes && !interactive)
      throw new KacheError(
        "not a terminal: nothing deleted",
        `pass --yes to delete the ${targets.length} target dirs listed, or --dry-run to only list them`,
      );
    const chosen = args.yes ? targets : await pickTargets(root, targets);
    if (!chosen || chosen.length === 0) {
      writeErr(`kache: ${chosen ? "none picked" : "cancelled"}: nothing deleted\n`);
      return;
    }
    removeAll(root, chosen);
  },
});
