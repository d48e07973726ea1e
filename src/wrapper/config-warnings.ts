// A broken config file is reported once per build, not by each of its hundreds of compiler calls.
import { type ConfigIssue, formatIssue } from "../config/load";
import { log } from "../util/log";
import { firstInBuild } from "./once-per-build";

export function warnConfigIssues(issues: ConfigIssue[], cacheDir: string): void {
  if (issues.length === 0) return;
  const messages = issues.map((issue) => `config: ${formatIssue(issue)}`);
  if (!firstInBuild(cacheDir, "config-warned-", messages)) return;
  for (const message of messages) log.warn(message);
}
