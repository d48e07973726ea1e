// `kache daemon [run|start|stop|restart|install|uninstall|log]`; bare `kache daemon` shows its status.

import { defineCommand } from "citty";
import { ensureDaemon, freshDaemonStatus, stopDaemon } from "../daemon/control";
import { followLog } from "../daemon/daemon-log";
import {
  detectServiceManager,
  installService,
  isServiceInstalled,
  restartService,
  uninstallService,
} from "../daemon/service";
import { daemonPaths, selfCommand } from "../ipc/daemon-paths";
import type { DaemonStatus } from "../ipc/protocol";
import { KacheError } from "../util/errors";
import { formatDuration } from "../util/size";
import { settingsOrExit } from "./cli-settings";
import { writeOut } from "./colour";

function out(line: string): void {
  writeOut(`${line}\n`);
}

function describeRunning(status: DaemonStatus): string {
  return `pid ${status.pid}, version ${status.version}, epoch ${status.epoch}`;
}

const status = defineCommand({
  meta: { name: "status", description: "Show whether the daemon runs (the default)" },
  args: { json: { type: "boolean", description: "print JSON" } },
  async run({ args }) {
    const settings = settingsOrExit();
    const { status, replaced } = await freshDaemonStatus(settings);
    const installed = isServiceInstalled();
    const socket = daemonPaths(settings.cacheDir).socket;
    if (args.json) {
      out(
        JSON.stringify({
          running: status !== null,
          ...status,
          socket,
          serviceInstalled: installed,
          replaced: replaced ?? null,
        }),
      );
      return;
    }
    if (replaced) out(`replaced an outdated daemon (${describeRunning(replaced)})`);
    out(status ? "daemon: running" : "daemon: stopped");
    if (status) {
      out(`  pid:      ${status.pid}`);
      out(`  version:  ${status.version} (protocol ${status.protocol})`);
      out(`  epoch:    ${status.epoch}`);
      out(`  uptime:   ${formatDuration(status.uptimeMs)}`);
      for (const remote of status.remotes ?? []) {
        const health = remote.notAnswering
          ? "not answering"
          : remote.paused
            ? "paused after failures"
            : remote.lastError
              ? "ok again since its last error"
              : "ok";
        out(`  remote:   ${remote.remote} (${health}${remote.writable ? "" : ", read-only"})`);
        out(
          `            queued ${remote.queued}, uploaded ${remote.uploadsDone}, downloaded ${remote.downloadsDone}`,
        );
        if (remote.lastError) out(`            last error: ${remote.lastError}`);
      }
    }
    out(`  socket:   ${socket}`);
    out(`  service:  ${installed ? "installed" : "not installed"}`);
  },
});

const run = defineCommand({
  meta: { name: "run", description: "Run the daemon in the foreground (logs to stderr)" },
  args: {
    background: { type: "boolean", description: "started by `kache daemon start`: log to the file only" },
  },
  async run({ args }) {
    const { runDaemon } = await import("../daemon/run-daemon");
    process.exit(await runDaemon(settingsOrExit(), { background: Boolean(args.background) }));
  },
});

const start = defineCommand({
  meta: { name: "start", description: "Start the daemon in the background; returns once it answers" },
  async run() {
    const result = await ensureDaemon(settingsOrExit());
    if (result.replaced) out(`replaced an outdated daemon (${describeRunning(result.replaced)})`);
    out(`${result.started ? "started" : "already running"}: ${describeRunning(result.status)}`);
  },
});

const stop = defineCommand({
  meta: { name: "stop", description: "Stop the daemon gracefully" },
  async run() {
    const pid = await stopDaemon(settingsOrExit());
    out(pid === null ? "daemon was not running" : `stopped daemon pid ${pid}`);
  },
});

const restart = defineCommand({
  meta: { name: "restart", description: "Restart the daemon (through the service manager when installed)" },
  async run() {
    const settings = settingsOrExit();
    if (isServiceInstalled()) {
      const result = restartService();
      if (result.restarted) return out(result.message);
      out(result.message);
    }
    await stopDaemon(settings);
    const result = await ensureDaemon(settings);
    out(`restarted: ${describeRunning(result.status)}`);
  },
});

const install = defineCommand({
  meta: { name: "install", description: "Install the daemon as a user service (systemd or launchd)" },
  async run() {
    const settings = settingsOrExit();
    const env = { KACHE_CACHE_DIR: process.env.KACHE_CACHE_DIR ? settings.cacheDir : undefined };
    // A daemon started by hand holds the cache dir's lock; the service's own would restart-loop on it.
    if (detectServiceManager().usable) await stopDaemon(settings);
    const logFile = daemonPaths(settings.cacheDir).stderrLog;
    const result = installService({ kacheCommand: selfCommand(), env, logFile });
    out(result.message);
    if (!result.enabled) {
      const started = await ensureDaemon(settings);
      out(
        `${started.started ? "started" : "already running"} as a background process: ${describeRunning(started.status)}`,
      );
    }
  },
});

const uninstall = defineCommand({
  meta: { name: "uninstall", description: "Remove the daemon's user service" },
  run() {
    out(uninstallService().message);
  },
});

const log = defineCommand({
  meta: { name: "log", description: "Show the daemon log and follow it like tail -f" },
  args: {
    lines: { type: "string", description: "lines to show first", default: "50" },
    follow: {
      type: "boolean",
      description: "keep following (--no-follow to stop at the end)",
      default: true,
    },
  },
  async run({ args }) {
    const lines = Number.parseInt(String(args.lines), 10);
    if (!Number.isFinite(lines) || lines < 0)
      throw new KacheError(`--lines must be a number, got "${args.lines}"`, undefined, 2);
    const controller = new AbortController();
    process.on("SIGINT", () => controller.abort());
    await followLog(daemonPaths(settingsOrExit().cacheDir).log, {
      lines,
      follow: Boolean(args.follow),
      signal: controller.signal,
      write: (text) => writeOut(text),
    });
  },
});

export const daemonCommand = defineCommand({
  meta: { name: "daemon", description: "Manage the background daemon (bare: show its status)" },
  default: "status",
  subCommands: { status, run, start, stop, restart, install, uninstall, log },
});
