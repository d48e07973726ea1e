// The systemd unit and launchd plist for the daemon, generated from one spec, and where each file lives.
import { isAbsolute, join, resolve } from "node:path";
import { KacheError } from "../util/errors";

export type Env = Record<string, string | undefined>;
export type ServiceKind = "systemd" | "launchd";

export const SYSTEMD_UNIT_NAME = "kache.service";
export const LAUNCHD_LABEL = "ninja.kunobi.kache";

export interface ServiceSpec {
  /** How to run kache: the binary, or an interpreter plus script; `daemon run` is appended. */
  kacheCommand: string[];
  /** Extra environment for the daemon, e.g. KACHE_CACHE_DIR when the user set it; undefined values are left out. */
  env: Record<string, string | undefined>;
  /** launchd only: where the daemon's stdout/stderr go; systemd sends them to the journal. */
  logFile?: string;
}

export interface ServicePaths {
  kind: ServiceKind;
  file: string;
}

export function serviceKind(platform: NodeJS.Platform): ServiceKind {
  return platform === "darwin" ? "launchd" : "systemd";
}

export function servicePaths(home: string, env: Env, platform: NodeJS.Platform): ServicePaths {
  if (serviceKind(platform) === "launchd") {
    return { kind: "launchd", file: join(home, "Library", "LaunchAgents", `${LAUNCHD_LABEL}.plist`) };
  }
  // XDG says relative values are invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME;
  const configHome = xdg && isAbsolute(xdg) ? xdg : join(home, ".config");
  return { kind: "systemd", file: join(configHome, "systemd", "user", SYSTEMD_UNIT_NAME) };
}

/** The daemon's argv with an absolute program path: service managers do not search a login PATH. */
function daemonArgv(spec: ServiceSpec): string[] {
  const [program, ...rest] = spec.kacheCommand;
  if (!program) throw new KacheError("no kache command to put in the service file");
  return [resolve(program), ...rest, "daemon", "run"];
}

/** The defined entries, after checking every name is one a service manager can carry. */
function daemonEnv(spec: ServiceSpec): [string, string][] {
  const entries = Object.entries(spec.env).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  for (const [name] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new KacheError(`invalid environment variable name for the service: ${JSON.stringify(name)}`);
    }
  }
  return entries;
}

/** systemd's quoted-word syntax: C escapes inside double quotes; `%` starts a specifier everywhere. */
function systemdQuoted(text: string): string {
  const escaped = text
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\n/g, "\\n")
    .replace(/\t/g, "\\t")
    .replace(/%/g, "%%");
  return `"${escaped}"`;
}

/**
 * One ExecStart word. Arguments get `$` doubled because systemd expands variables in them; the program
 * path is taken literally (systemd 252 rejects a doubled `$` there as a missing file).
 */
export function systemdExecWord(word: string, isProgram = false): string {
  if (/^[A-Za-z0-9_./:+,@=-]+$/.test(word)) return word;
  return isProgram ? systemdQuoted(word) : systemdQuoted(word).replace(/\$/g, "$$$$");
}

export function serviceUnit(spec: ServiceSpec): string {
  const environment = daemonEnv(spec).map(
    ([name, value]) => `Environment=${systemdQuoted(`${name}=${value}`)}`,
  );
  return [
    "# Written by `kache daemon install`; `kache daemon uninstall` removes it.",
    "[Unit]",
    "Description=kache build cache daemon",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${daemonArgv(spec)
      .map((word, index) => systemdExecWord(word, index === 0))
      .join(" ")}`,
    // on-failure, not always: the daemon exits 0 on idle timeout and must stay stopped then.
    "Restart=on-failure",
    "RestartSec=2",
    ...environment,
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const xmlString = (text: string) => `<string>${xmlEscape(text)}</string>`;

export function servicePlist(spec: ServiceSpec): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "<dict>",
    "  <key>Label</key>",
    `  ${xmlString(LAUNCHD_LABEL)}`,
    "  <key>ProgramArguments</key>",
    "  <array>",
    ...daemonArgv(spec).map((word) => `    ${xmlString(word)}`),
    "  </array>",
    "  <key>RunAtLoad</key>",
    "  <true/>",
    // Relaunch on a crash only: the daemon exits 0 on idle timeout and must stay stopped then.
    "  <key>KeepAlive</key>",
    "  <dict>",
    "    <key>SuccessfulExit</key>",
    "    <false/>",
    "  </dict>",
  ];
  const envEntries = daemonEnv(spec);
  if (envEntries.length > 0) {
    lines.push("  <key>EnvironmentVariables</key>", "  <dict>");
    for (const [name, value] of envEntries) {
      lines.push(`    <key>${xmlEscape(name)}</key>`, `    ${xmlString(value)}`);
    }
    lines.push("  </dict>");
  }
  if (spec.logFile) {
    for (const key of ["StandardOutPath", "StandardErrorPath"]) {
      lines.push(`  <key>${key}</key>`, `  ${xmlString(spec.logFile)}`);
    }
  }
  lines.push("</dict>", "</plist>", "");
  return lines.join("\n");
}
