// A warning every compiler call of a build would give, given by one of them: the first to create a
// marker named after the build (cargo's pid and start time) and the message.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureCacheDir } from "../store/cache-dir";
import { unlinkQuietly } from "../util/atomic-write";
import { hashParts } from "../util/hash";

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

/**
 * True for exactly one caller per build and set of messages, its marker in `dir` under `prefix`;
 * also when nothing can be recorded (then every call says it: better twice than never).
 */
export function firstInBuild(dir: string, prefix: string, messages: string[]): boolean {
  const build = buildProcess();
  if (build === null) return true;
  const name = `${prefix}${build}-${hashParts(messages).slice(0, 16)}`;
  try {
    writeFileSync(join(dir, name), "", { flag: "wx" });
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "EEXIST";
  }
  // Earlier builds' markers: one file is left at most, whatever the number of builds.
  try {
    for (const other of readdirSync(dir))
      if (other.startsWith(prefix) && other !== name) unlinkQuietly(join(dir, other));
  } catch {
    // a leftover marker costs nothing
  }
  return true;
}

/**
 * A dir of this user's in the temp dir, made and checked as a cache dir is (owner-only, refused when
 * another user's or writable by everyone), for markers about a cache dir kache will not write into.
 */
export function privateMarkerDir(): string | null {
  const dir = join(tmpdir(), `kache-${process.getuid?.() ?? "user"}`);
  try {
    ensureCacheDir(dir);
    return dir;
  } catch {
    return null;
  }
}
