// The daemon's gc: a background `kache gc` when it starts and every few hours while it runs, so a
// store stays under its limit even when no build grows it past the wrappers' trigger.
import { join } from "node:path";
import type { Settings } from "../config/settings";
import { describeError } from "../util/errors";
import { markerDue } from "../util/rate-marker";
import { startBackgroundGc } from "../wrapper/start-gc";

export const DAEMON_GC_EVERY_MS = 6 * 3_600_000;
/** Wrappers start a daemon per build session (it idles out after 10 minutes): one gc an hour is enough. */
const AT_START_EVERY_MS = 3_600_000;

/** Starts a gc now (unless a daemon did within the hour) and on a timer; returns what stops the timer. */
export function scheduleGc(settings: Settings, log: { info(message: string): void }): () => void {
  const run = () => {
    startBackgroundGc(settings)
      .then((pid) => {
        if (pid) log.info(`started gc (pid ${pid}); its report goes to gc.log`);
      })
      .catch((error) => log.info(`could not start gc: ${describeError(error)}`));
  };
  if (markerDue(join(settings.cacheDir, "gc.daemon-started"), AT_START_EVERY_MS)) run();
  const timer = setInterval(run, DAEMON_GC_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
