// The daemon's gc: a background `kache gc` when it starts and every few hours while it runs, so a
// store stays under its limit even when no build grows it past the wrappers' trigger.
import type { Settings } from "../config/settings";
import { describeError } from "../util/errors";
import { startBackgroundGc } from "../wrapper/start-gc";

export const DAEMON_GC_EVERY_MS = 6 * 3_600_000;

/** Starts the first gc now and the next ones on a timer; returns the function that stops them. */
export function scheduleGc(settings: Settings, log: { info(message: string): void }): () => void {
  const run = () => {
    startBackgroundGc(settings)
      .then((pid) => {
        if (pid) log.info(`started gc (pid ${pid}); its report goes to gc.log`);
      })
      .catch((error) => log.info(`could not start gc: ${describeError(error)}`));
  };
  run();
  const timer = setInterval(run, DAEMON_GC_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
