// Installs, removes and restarts the daemon as a systemd user service or launchd agent, or says plainly why not.
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { dirname } from "node:path";
import { atomicWrite, unlinkQuietly } from "../util/atomic-write";
import { KacheError } from "../util/errors";
import {
  type Env,
  LAUNCHD_LABEL,
  type ServiceKind,
  type ServiceSpec,
  SYSTEMD_UNIT_NAME,
  serviceKind,
  servicePaths,
  servicePlist,
  serviceUnit,
} from "./service-files";

export {
  LAUNCHD_LABEL,
  type ServiceKind,
  type ServicePaths,
  type ServiceSpec,
  SYSTEMD_UNIT_NAME,
  servicePaths,
  servicePlist,
  serviceUnit,
} from "./service-files";

export interface ServiceManager {
  kind: ServiceKind;
  usable: boolean;
  /** Why it is not usable, in words a user can act on. */
  why?: string;
}

/** Where to look; defaults are this process's, parameters so tests can use a temp HOME and fake tools. */
export interface ServiceContext {
  home?: string;
  env?: Env;
  platform?: NodeJS.Platform;
}

export interface InstallResult {
  file: string;
  manager: ServiceManager;
  enabled: boolean;
  message: string;
}

export interface UninstallResult {
  file: string;
  manager: ServiceManager;
  removed: boolean;
  message: string;
}

export interface RestartResult {
  restarted: boolean;
  message: string;
}

// Long enough for `enable --now` on a loaded machine, short enough that a wedged bus cannot hang the CLI.
const COMMAND_TIMEOUT_MS = 10_000;
const PROBE_TIMEOUT_MS = 3_000;

interface CommandResult {
  ok: boolean;
  output: string;
}

function resolveContext(context: ServiceContext): Required<ServiceContext> {
  const env = context.env ?? process.env;
  return { env, platform: context.platform ?? process.platform, home: context.home ?? env.HOME ?? homedir() };
}

/** Runs a tool found on the given env's PATH (not ours), so a test's fake systemctl is the one used. */
function runCommand(argv: string[], env: Env, timeout = COMMAND_TIMEOUT_MS): CommandResult {
  const [name, ...args] = argv as [string, ...string[]];
  const program = Bun.which(name, { PATH: env.PATH ?? "" });
  if (!program) return { ok: false, output: `${name} not found on PATH` };
  const cleanEnv = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  try {
    const result = Bun.spawnSync([program, ...args], {
      env: cleanEnv,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      timeout,
    });
    const output = `${result.stderr.toString().trim()}\n${result.stdout.toString().trim()}`.trim();
    if (result.exitedDueToTimeout) return { ok: false, output: `${name} timed out after ${timeout} ms` };
    return { ok: result.success, output: output.split("\n")[0] || `${name} exited with ${result.exitCode}` };
  } catch (error) {
    return { ok: false, output: error instanceof Error ? error.message : String(error) };
  }
}

function launchdDomain(): string {
  return `gui/${process.getuid?.() ?? 0}`;
}

export function detectServiceManager(
  platform: NodeJS.Platform = process.platform,
  env: Env = process.env,
): ServiceManager {
  const kind = serviceKind(platform);
  const notUsable = (why: string): ServiceManager => ({ kind, usable: false, why });
  if (env.KACHE_SERVICE_MANAGER === "none") return notUsable("KACHE_SERVICE_MANAGER=none");
  if (kind === "launchd") {
    if (!Bun.which("launchctl", { PATH: env.PATH ?? "" })) return notUsable("launchctl not found on PATH");
    return { kind, usable: true };
  }
  if (platform !== "linux") return notUsable(`no systemd on ${platform}`);
  // show-environment only answers when a user manager is reachable over its bus; in containers it
  // fails with "Failed to connect to bus", which is exactly the case we must detect.
  const probe = runCommand(["systemctl", "--user", "show-environment"], env, PROBE_TIMEOUT_MS);
  return probe.ok ? { kind, usable: true } : notUsable(probe.output);
}

function managerName(kind: ServiceKind): string {
  return kind === "systemd" ? "systemd user session" : "launchd";
}

/** The spec's env is the daemon's; the context's env is where to find HOME, XDG dirs and the tools. */
export function installService(spec: ServiceSpec, context: ServiceContext = {}): InstallResult {
  const { home, env, platform } = resolveContext(context);
  const { kind, file } = servicePaths(home, env, platform);
  mkdirSync(dirname(file), { recursive: true });
  atomicWrite(file, kind === "systemd" ? serviceUnit(spec) : servicePlist(spec));
  const manager = detectServiceManager(platform, env);
  if (!manager.usable) {
    return {
      file,
      manager,
      enabled: false,
      message:
        `${managerName(kind)} not available (${manager.why}): wrote ${file} but did not enable it; ` +
        "the daemon runs as a background process instead and will not survive a reboot",
    };
  }
  if (kind === "systemd") {
    mustRun(["systemctl", "--user", "daemon-reload"], env, "systemctl --user status kache");
    mustRun(
      ["systemctl", "--user", "enable", "--now", SYSTEMD_UNIT_NAME],
      env,
      "systemctl --user status kache",
    );
    return {
      file,
      manager,
      enabled: true,
      message: `installed ${file}; enabled and started ${SYSTEMD_UNIT_NAME}`,
    };
  }
  // Unload any earlier copy first: bootstrap refuses a label that is already loaded, and a reinstall
  // must pick up the new file.
  runCommand(["launchctl", "bootout", `${launchdDomain()}/${LAUNCHD_LABEL}`], env);
  const bootstrap = runCommand(["launchctl", "bootstrap", launchdDomain(), file], env);
  if (!bootstrap.ok) {
    // Older macOS, or a session without a gui domain (ssh): the legacy verb still works there.
    mustRun(["launchctl", "load", "-w", file], env, `launchctl print ${launchdDomain()}/${LAUNCHD_LABEL}`);
  }
  return { file, manager, enabled: true, message: `installed ${file}; loaded ${LAUNCHD_LABEL} into launchd` };
}

function mustRun(argv: string[], env: Env, hint: string): void {
  const result = runCommand(argv, env);
  if (!result.ok) throw new KacheError(`\`${argv.join(" ")}\` failed: ${result.output}`, `see \`${hint}\``);
}

export function uninstallService(context: ServiceContext = {}): UninstallResult {
  const { home, env, platform } = resolveContext(context);
  const { kind, file } = servicePaths(home, env, platform);
  const existed = existsSync(file);
  const manager = detectServiceManager(platform, env);
  const done: string[] = [];
  // Errors are expected here (not loaded, never enabled): uninstall must work from any half state.
  if (manager.usable && kind === "systemd") {
    if (runCommand(["systemctl", "--user", "disable", "--now", SYSTEMD_UNIT_NAME], env).ok && existed) {
      done.push(`stopped and disabled ${SYSTEMD_UNIT_NAME}`);
    }
  } else if (manager.usable) {
    const unloaded =
      runCommand(["launchctl", "bootout", `${launchdDomain()}/${LAUNCHD_LABEL}`], env).ok ||
      (existed && runCommand(["launchctl", "unload", "-w", file], env).ok);
    if (unloaded) done.push(`unloaded ${LAUNCHD_LABEL}`);
  }
  unlinkQuietly(file);
  if (manager.usable && kind === "systemd" && existed)
    runCommand(["systemctl", "--user", "daemon-reload"], env);
  if (existed) done.push(`removed ${file}`);
  const message = done.length > 0 ? done.join("; ") : `no service installed (${file} does not exist)`;
  return { file, manager, removed: existed, message };
}

export function isServiceInstalled(
  home: string = process.env.HOME ?? homedir(),
  env: Env = process.env,
  platform: NodeJS.Platform = process.platform,
): boolean {
  return existsSync(servicePaths(home, env, platform).file);
}

/** For `kache daemon restart`: restarted=false means "not installed or no manager", so restart by hand. */
export function restartService(context: ServiceContext = {}): RestartResult {
  const { home, env, platform } = resolveContext(context);
  const { kind, file } = servicePaths(home, env, platform);
  if (!existsSync(file)) return { restarted: false, message: "no service installed" };
  const manager = detectServiceManager(platform, env);
  if (!manager.usable) {
    return { restarted: false, message: `${managerName(kind)} not available (${manager.why})` };
  }
  if (kind === "systemd") {
    mustRun(["systemctl", "--user", "restart", SYSTEMD_UNIT_NAME], env, "systemctl --user status kache");
    return { restarted: true, message: `restarted ${SYSTEMD_UNIT_NAME}` };
  }
  const target = `${launchdDomain()}/${LAUNCHD_LABEL}`;
  mustRun(["launchctl", "kickstart", "-k", target], env, `launchctl print ${target}`);
  return { restarted: true, message: `restarted ${LAUNCHD_LABEL}` };
}
