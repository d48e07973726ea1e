// The one settings table (env var, TOML key, type, default): loading, `kache config list` and the docs all read it.
import { homedir } from "node:os";
import { join } from "node:path";
import type { LogLevel } from "../util/log";

export type Env = Record<string, string | undefined>;
export type SettingType = "string" | "size" | "bool" | "int" | "duration" | "string-list" | "enum";
export type SettingValue = string | number | boolean | string[] | undefined;
export type ProgressMode = "always" | "never" | "auto";
export type IncrementalMode = "keep" | "strip";
export type BackgroundStoreMode = "auto" | "always" | "never";

export type RemoteType = "s3" | "filesystem";

export interface RemoteSettings {
  type: RemoteType;
  /** The directory of a filesystem remote. */
  path?: string;
  readOnly: boolean;
  /** Seconds a wrapper waits for a remote check at most. */
  checkTimeoutSecs: number;
  bucket?: string;
  endpoint?: string;
  region: string;
  prefix: string;
  profile?: string;
  accessKey?: string;
  secretKey?: string;
}

/** True when the settings name a remote at all: a bucket, or a shared directory. */
export function remoteConfigured(remote: RemoteSettings): boolean {
  return remote.type === "filesystem" ? Boolean(remote.path) : Boolean(remote.bucket);
}

export interface Settings {
  cacheDir: string;
  /**
   * The directory the configuration was looked up from (for a wrapper: where cargo ran). A daemon a
   * wrapper starts runs there, so that it reads the same `.kache.toml`.
   */
  configDir: string;
  /** Bytes. */
  maxSize: number;
  remote: RemoteSettings;
  cacheExecutables: boolean;
  /** Reuse recorded input lists instead of running the dep-info pre-pass. */
  directMode: boolean;
  /** When a miss's outputs are hashed and stored by a detached process after the wrapper exits. */
  backgroundStore: BackgroundStoreMode;
  /** `keep`: calls with `-C incremental` compile incrementally; `strip`: the flag is removed. */
  incremental: IncrementalMode;
  cleanIncremental: boolean;
  /** Bytes at which events.jsonl is rotated to events.jsonl.1; 0 never rotates. */
  eventsMaxSize: number;
  /** Source-path globs that bypass kache, with `~` and `$VAR` already expanded. */
  exclude: string[];
  compressionLevel: number;
  s3Concurrency: number;
  /** 0 means the daemon never exits on its own. */
  daemonIdleTimeoutSecs: number;
  keySalt: string;
  /** Env var names (or `PREFIX_*`) folded into every key: what proc-macros read unseen. */
  keyEnvVars: string[];
  /** The program uncached calls run through (`sccache`), as written: a name on PATH or a path. */
  fallback?: string;
  disabled: boolean;
  logLevel: LogLevel;
  progress: ProgressMode;
}

/** Where a row's value lands in `Settings`; "remote.x" is `settings.remote.x`. */
export type SettingField =
  | Exclude<keyof Settings, "remote" | "configDir">
  | `remote.${keyof RemoteSettings & string}`;

export interface SettingRow {
  /** Environment variable, or null for file-only settings. */
  env: string | null;
  /** Dotted TOML key, or null for env-only settings. */
  key: string | null;
  field: SettingField;
  type: SettingType;
  /** A function when the default depends on the platform or environment. */
  default: SettingValue | ((env: Env) => SettingValue);
  /** How the default reads in docs when it is computed. */
  defaultLabel?: string;
  description: string;
  values?: readonly string[];
  min?: number;
  max?: number;
  /** For a list: the form each item must have, and the hint when one does not. */
  item?: { pattern: RegExp; what: string; hint: string };
}

/** CI systems set CI (GitHub Actions, GitLab, CircleCI, Buildkite, Travis...). */
export function isCi(env: Env): boolean {
  const value = (env.CI ?? "").trim().toLowerCase();
  return value !== "" && value !== "0" && value !== "false";
}

export function homeDir(env: Env): string {
  return env.HOME || homedir();
}

export function defaultCacheDir(env: Env, platform: NodeJS.Platform = process.platform): string {
  if (platform === "darwin") return join(homeDir(env), "Library", "Caches", "kache");
  // XDG says relative values are invalid and must be ignored.
  const xdg = env.XDG_CACHE_HOME;
  if (xdg?.startsWith("/")) return join(xdg, "kache");
  return join(homeDir(env), ".cache", "kache");
}

export const SETTINGS: readonly SettingRow[] = [
  {
    env: "KACHE_CACHE_DIR",
    key: "cache.local_store",
    field: "cacheDir",
    type: "string",
    default: (env) => defaultCacheDir(env),
    defaultLabel: "~/.cache/kache (Linux, or $XDG_CACHE_HOME/kache), ~/Library/Caches/kache (macOS)",
    description: "cache directory",
  },
  {
    env: "KACHE_MAX_SIZE",
    key: "cache.local_max_size",
    field: "maxSize",
    type: "size",
    default: 50 * 1024 ** 3,
    defaultLabel: "50GiB",
    description: "store size limit (50GiB, 10GB, 512MiB)",
  },
  {
    env: "KACHE_S3_BUCKET",
    key: "cache.remote.bucket",
    field: "remote.bucket",
    type: "string",
    default: undefined,
    description: "S3 bucket; setting it enables the remote cache",
  },
  {
    env: null,
    key: "cache.remote.type",
    field: "remote.type",
    type: "enum",
    values: ["s3", "filesystem"],
    default: "s3",
    description: "s3, or filesystem (a shared directory: NFS, a mounted disk)",
  },
  {
    env: null,
    key: "cache.remote.path",
    field: "remote.path",
    type: "string",
    default: undefined,
    description: "directory of a filesystem remote; setting it (with type filesystem) enables the remote",
  },
  {
    env: "KACHE_REMOTE_READ_ONLY",
    key: "cache.remote.read_only",
    field: "remote.readOnly",
    type: "bool",
    default: false,
    description: "pulls and remote hits only, never a write (read-only CI credentials)",
  },
  {
    env: null,
    key: "cache.remote.check_timeout",
    field: "remote.checkTimeoutSecs",
    type: "duration",
    default: 3,
    defaultLabel: "3s",
    description: "longest wait of a wrapper for a remote check",
  },
  {
    env: "KACHE_S3_ENDPOINT",
    key: "cache.remote.endpoint",
    field: "remote.endpoint",
    type: "string",
    default: undefined,
    description: "S3 endpoint for R2/Ceph/MinIO (path-style)",
  },
  {
    env: "KACHE_S3_REGION",
    key: "cache.remote.region",
    field: "remote.region",
    type: "string",
    default: "us-east-1",
    description: "S3 region",
  },
  {
    env: "KACHE_S3_PREFIX",
    key: "cache.remote.prefix",
    field: "remote.prefix",
    type: "string",
    default: "artifacts",
    description: "key prefix in the bucket",
  },
  {
    env: "KACHE_S3_PROFILE",
    key: "cache.remote.profile",
    field: "remote.profile",
    type: "string",
    default: undefined,
    description: "AWS credentials profile",
  },
  {
    env: "KACHE_S3_ACCESS_KEY",
    key: null,
    field: "remote.accessKey",
    type: "string",
    default: undefined,
    description: "explicit S3 access key (with KACHE_S3_SECRET_KEY)",
  },
  {
    env: "KACHE_S3_SECRET_KEY",
    key: null,
    field: "remote.secretKey",
    type: "string",
    default: undefined,
    description: "explicit S3 secret key (with KACHE_S3_ACCESS_KEY)",
  },
  {
    env: "KACHE_CACHE_EXECUTABLES",
    key: "cache.cache_executables",
    field: "cacheExecutables",
    type: "bool",
    default: () => process.platform === "linux" || process.platform === "darwin",
    defaultLabel: "true (Linux/macOS)",
    description: "also cache executables and shared objects",
  },
  {
    env: "KACHE_DIRECT_MODE",
    key: "cache.direct_mode",
    field: "directMode",
    type: "bool",
    default: true,
    description:
      "skip the dep-info pre-pass when a recorded input list still matches; false = pre-pass every call",
  },
  {
    env: "KACHE_BACKGROUND_STORE",
    key: "cache.background_store",
    field: "backgroundStore",
    type: "enum",
    values: ["auto", "always", "never"],
    default: "auto",
    description:
      "store a miss's outputs after the call returns, off cargo's critical path: auto = outputs of 8 MB or more and incremental compiles, except when CI is set; always; never",
  },
  {
    env: "KACHE_INCREMENTAL",
    key: "cache.incremental",
    field: "incremental",
    type: "enum",
    values: ["keep", "strip"],
    default: "keep",
    description:
      "keep: calls with -C incremental compile incrementally (outputs still cached); strip: remove the flag",
  },
  {
    env: "KACHE_CLEAN_INCREMENTAL",
    key: "cache.clean_incremental",
    field: "cleanIncremental",
    type: "bool",
    default: true,
    description: "gc removes the incremental dirs kache saw once nobody has used them for 7 days",
  },
  {
    env: "KACHE_EVENTS_MAX_SIZE",
    key: "cache.events_max_size",
    field: "eventsMaxSize",
    type: "size",
    default: 10 * 1024 ** 2,
    defaultLabel: "10MiB",
    description: "events.jsonl is rotated to events.jsonl.1 at this size (one old file is kept); 0 = never",
  },
  {
    env: null,
    key: "cache.exclude",
    field: "exclude",
    type: "string-list",
    default: [],
    description:
      "source-path globs that bypass kache (~ and $VAR expanded; $CARGO_HOME defaults to ~/.cargo)",
  },
  {
    env: "KACHE_COMPRESSION_LEVEL",
    key: "cache.compression_level",
    field: "compressionLevel",
    type: "int",
    default: 3,
    min: 1,
    max: 22,
    description: "zstd level for remote archives",
  },
  {
    env: "KACHE_S3_CONCURRENCY",
    key: "cache.s3_concurrency",
    field: "s3Concurrency",
    type: "int",
    default: 16,
    min: 1,
    max: 1024,
    description: "parallel S3 operations",
  },
  {
    env: "KACHE_DAEMON_IDLE_TIMEOUT",
    key: "cache.daemon_idle_timeout_secs",
    field: "daemonIdleTimeoutSecs",
    type: "duration",
    default: 600,
    defaultLabel: "600 (10m)",
    description: "daemon exits after this many idle seconds (or a duration like 10m); 0 = never",
  },
  {
    env: "KACHE_KEY_SALT",
    key: "cache.key_salt",
    field: "keySalt",
    type: "string",
    default: "",
    description: "folded into every cache key",
  },
  {
    env: "KACHE_KEY_ENV_VARS",
    key: "cache.key_env_vars",
    field: "keyEnvVars",
    type: "string-list",
    default: [],
    item: {
      pattern: /^[A-Za-z_][A-Za-z0-9_]*\*?$/,
      what: "variable name",
      hint: "use names such as MY_VAR, or a prefix such as MY_TOOL_*",
    },
    description:
      "env vars folded into every key with their values, for proc-macros and build tools that read them unseen: names or a PREFIX_* (env: comma-separated)",
  },
  {
    env: "KACHE_FALLBACK",
    key: "cache.fallback",
    field: "fallback",
    type: "string",
    default: undefined,
    description:
      "run the calls kache passes through as `<fallback> <compiler> <args>` (e.g. sccache); a name on PATH or a path",
  },
  {
    env: "KACHE_DISABLED",
    key: null,
    field: "disabled",
    type: "bool",
    default: false,
    description: "pure pass-through: the call as cargo made it (through cache.fallback when one is set)",
  },
  {
    env: "KACHE_LOG",
    key: null,
    field: "logLevel",
    type: "enum",
    values: ["error", "warn", "info", "debug"],
    default: "warn",
    description: "stderr log level",
  },
  {
    env: "KACHE_PROGRESS",
    key: null,
    field: "progress",
    type: "enum",
    values: ["always", "never", "auto"],
    default: "auto",
    description: "progress line on stderr",
  },
];

export function defaultValue(row: SettingRow, env: Env): SettingValue {
  const value = typeof row.default === "function" ? row.default(env) : row.default;
  return Array.isArray(value) ? [...value] : value;
}

/** How the default reads in `kache config list` and the README. */
export function describeDefault(row: SettingRow): string {
  if (row.defaultLabel) return row.defaultLabel;
  if (row.default === undefined) return "—";
  if (Array.isArray(row.default)) return JSON.stringify(row.default);
  return String(row.default);
}

/** Writes one row's value into a settings object; `undefined` leaves optional fields absent. */
export function setField(settings: Settings, field: SettingField, value: SettingValue): void {
  const target = settings as unknown as Record<string, unknown>;
  if (field.startsWith("remote.")) {
    const remote = settings.remote as unknown as Record<string, unknown>;
    if (value === undefined) delete remote[field.slice(7)];
    else remote[field.slice(7)] = value;
  } else if (value === undefined) delete target[field];
  else target[field] = value;
}
