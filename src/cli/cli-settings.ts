// The settings a CLI command runs with: a config error stops the command with one line naming it.
import { formatIssue, loadSettings } from "../config/load";
import type { Settings } from "../config/settings";
import { KacheError } from "../util/errors";

/** `tolerateConfigErrors` is for kache's own background runs (a gc a wrapper started): defaults stand in. */
export function settingsOrExit(tolerateConfigErrors = false): Settings {
  const { settings, errors } = loadSettings();
  if (errors.length > 0 && !tolerateConfigErrors)
    throw new KacheError(`config: ${formatIssue(errors[0]!)}`, "fix it, then run the command again");
  return settings;
}
