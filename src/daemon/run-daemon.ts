// `kache daemon run`: the daemon in this process until it is stopped, idles out or gets a signal.
import type { Settings } from "../config/settings";
import { daemonPaths } from "../ipc/daemon-paths";
import { openDaemonLog } from "./daemon-log";
import { type DaemonLogger, DaemonServer } from "./server";

function makeLogger(settings: Settings, mirrorToStderr: boolean): DaemonLogger {
  const file = openDaemonLog(daemonPaths(settings.cacheDir).log);
  const write = (level: string, message: string) => {
    file.write(`${level} ${message}`);
    if (mirrorToStderr) process.stderr.write(`kache daemon ${level}: ${message}\n`);
  };
  return {
    info: (message) => write("info", message),
    warn: (message) => write("warn", message),
    close: () => file.close(),
  };
}

/** Runs until stopped; resolves with the exit code (0 for every orderly stop, so services do not flap). */
export async function runDaemon(settings: Settings, opts: { background: boolean }): Promise<number> {
  const logger = makeLogger(settings, !opts.background);
  const server = new DaemonServer(settings, logger);
  await server.start();
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.on(signal, () => void server.stop(`received ${signal}`));
  }
  await server.stopped;
  return 0;
}
