// `kache init`'s second step: the daemon's user service where a service manager runs, and the daemon
// itself; where none runs (containers) it says so and starts the daemon as a background process.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import type { Settings } from "../config/settings";
import { ensureDaemon, type StartResult, stopDaemon } from "../daemon/control";
import {
  detectServiceManager,
  installService,
  type ServiceSpec,
  servicePaths,
  servicePlist,
  serviceUnit,
} from "../daemon/service";
import { daemonPaths } from "../ipc/daemon-paths";
import { displayPath } from "./wrapper-setup";

export interface ServiceStep {
  lines: string[];
  /** The service file was written or the service enabled. */
  changed: boolean;
}

function describeStart(result: StartResult): string {
  const { pid, version } = result.status;
  const replaced = result.replaced ? `, replacing an older kache's (pid ${result.replaced.pid})` : "";
  return `pid ${pid}, version ${version}${replaced}`;
}

/** The unit or plist this kache would write, and whether the file on disk already says exactly that. */
function serviceFile(spec: ServiceSpec): { file: string; current: boolean } {
  const home = process.env.HOME ?? homedir();
  const { kind, file } = servicePaths(home, process.env, process.platform);
  const wanted = kind === "systemd" ? serviceUnit(spec) : servicePlist(spec);
  return { file, current: existsSync(file) && readFileSync(file, "utf8") === wanted };
}

export async function setUpService(settings: Settings, program: string): Promise<ServiceStep> {
  const manager = detectServiceManager();
  if (!manager.usable) {
    const name = manager.kind === "systemd" ? "systemd user session" : "launchd";
    const started = await ensureDaemon(settings);
    const lines = [
      `service: no service manager here (${name} not available: ${manager.why}); no service installed`,
      started.started
        ? `daemon: started as a background process (${describeStart(started)})`
        : `daemon: already running (${describeStart(started)})`,
      "daemon: without a service it stops at reboot or when idle, and the next build that needs it " +
        "(one with a remote cache) starts it again",
    ];
    return { lines, changed: false };
  }
  const spec: ServiceSpec = {
    kacheCommand: [program],
    env: { KACHE_CACHE_DIR: process.env.KACHE_CACHE_DIR ? settings.cacheDir : undefined },
    logFile: daemonPaths(settings.cacheDir).stderrLog,
  };
  const { file, current } = serviceFile(spec);
  if (current) {
    const lines = [`service: already installed (${displayPath(file)})`];
    const started = await ensureDaemon(settings);
    lines.push(`daemon: ${started.started ? "started" : "already running"} (${describeStart(started)})`);
    return { lines, changed: false };
  }
  // A daemon started by hand holds the cache dir's lock; the service's own would restart-loop on it.
  await stopDaemon(settings);
  return { lines: [`service: ${installService(spec).message}`], changed: true };
}
