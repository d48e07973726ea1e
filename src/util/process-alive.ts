// Whether a pid names a live process. A zombie (exited, not yet reaped) counts as dead: in containers
// whose init reaps slowly, kill(pid, 0) keeps succeeding for it.
import { readFileSync } from "node:fs";

export function processIsAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // Field 3 of /proc/<pid>/stat is the state; the command name before it may contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}
