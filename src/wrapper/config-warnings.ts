// A broken config file is reported once per build, not by each of its hundreds of compiler calls.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ConfigIssue, formatIssue } from "../config/load";
import { unlinkQuietly } from "../util/atomic-write";
import { hashParts } from "../util/hash";
import { log } from "../util/log";

const MARKER_PREFIX = "config-warned-";

/** The process that runs this build (cargo, or a build script for `kache cc`): pid and start time. */
function buildProcess(): string | null {
  try {
    const stat = readFileSync(`/proc/${process.ppid}/stat`, "utf8");
    // Field 22, the start time: a pid alone is reused, every CI container's cargo may get the same.
    const startTime = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    return startTime ? `${process.ppid}-${startTime}` : null;
  } catch {
    return null;
  }
}

/** True for exactly one caller per build and set of messages; also when nothing can be recorded. */
function firstInBuild(cacheDir: string, messages: string[]): boolean {
  const build = buildProcess();
  if (build === null) return true;
  const name = `${MARKER_PREFIX}${build}-${hashParts(messages).slice(0, 16)}`;
  try {
    writeFileSync(join(cacheDir, name), "", { flag: "wx" });
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "EEXIST";
  }
  // Earlier builds' markers: one file is left at most, whatever the number of builds.
  try {
    for (const other of readdirSync(cacheDir))
      if (other.startsWith(MARKER_PREFIX) && other !== name) unlinkQuietly(join(cacheDir, other));
  } catch {
    // a leftover marker costs nothing
  }
  return true;
}

export function warnConfigIssues(issues: ConfigIssue[], cacheDir: string): void {
  if (issues.length === 0) return;
  const messages = issues.map((issue) => `config: ${formatIssue(issue)}`);
  if (!firstInBuild(cacheDir, messages)) return;
  for (const message of messages) log.warn(message);
}
