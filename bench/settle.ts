// Before each timed build: write back the previous build's dirty pages and wait for the CPUs to go
// quiet, so one mode's leftovers (a writeback of a gigabyte of target/, a cache server still
// compressing) are never charged to the mode timed after it.

import { readFileSync } from "node:fs";

const QUIET_BUSY_FRACTION = 0.15;
const WINDOW_MS = 250;
const MAX_WAIT_MS = 10_000;

function cpuTicks(): { total: number; idle: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { total, idle: (fields[3] ?? 0) + (fields[4] ?? 0) }; // idle + iowait
}

async function busyFraction(): Promise<number> {
  const before = cpuTicks();
  await Bun.sleep(WINDOW_MS);
  const after = cpuTicks();
  const total = after.total - before.total;
  return total > 0 ? 1 - (after.idle - before.idle) / total : 0;
}

/** Returns once the machine is quiet, or after MAX_WAIT_MS on a machine others keep busy. */
export async function settle(): Promise<void> {
  Bun.spawnSync(["sync"]);
  const deadline = performance.now() + MAX_WAIT_MS;
  while (performance.now() < deadline && (await busyFraction()) > QUIET_BUSY_FRACTION) {
    // keep waiting
  }
}
