// Which rustc wrapper cargo will run, read the way cargo reads it (env, then project configs, then
// $CARGO_HOME), and the one format-preserving edit that makes it kache. Shared by init and doctor.
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { parseToml, removeTomlValue, setTomlValue, tomlValue } from "../config/toml-edit";
import { atomicWrite } from "../util/atomic-write";
import { KacheError } from "../util/errors";

export type Env = Record<string, string | undefined>;

/** The two settings cargo runs in front of rustc; the workspace one sits between the other and rustc. */
export const WRAPPER_SETTINGS = {
  wrapper: { key: "rustc-wrapper", env: ["RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER"] },
  workspaceWrapper: {
    key: "rustc-workspace-wrapper",
    env: ["RUSTC_WORKSPACE_WRAPPER", "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER"],
  },
} as const;
export type WrapperSetting = keyof typeof WRAPPER_SETTINGS;

/** `~/x` for paths under the home dir: what a user recognises in a message. */
export function displayPath(path: string, env: Env = process.env): string {
  const home = env.HOME ?? homedir();
  return home && path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

export function cargoHome(env: Env = process.env, cwd = process.cwd()): string {
  if (env.CARGO_HOME) return resolve(cwd, env.CARGO_HOME);
  return join(env.HOME ?? homedir(), ".cargo");
}

export interface CargoConfigFile {
  /** The file cargo reads in this dir (it may not exist yet). */
  path: string;
  exists: boolean;
  /** `config.toml` when cargo ignores it because the legacy `config` exists beside it. */
  ignored?: string;
}

/** Cargo prefers the legacy extension-less `config` when both exist (it warns and uses that one). */
export function cargoConfigIn(dir: string): CargoConfigFile {
  const legacy = join(dir, "config");
  const current = join(dir, "config.toml");
  const isFile = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
  if (isFile(legacy)) return { path: legacy, exists: true, ignored: isFile(current) ? current : undefined };
  return { path: current, exists: isFile(current) };
}

/** Reads `build.<key>` of a cargo config file; undefined when the file or the key is absent. */
export function readConfigWrapper(path: string, setting: WrapperSetting = "wrapper"): string | undefined {
  if (!existsSync(path)) return undefined;
  const value = tomlValue(parseToml(readFileSync(path, "utf8"), path), [
    "build",
    WRAPPER_SETTINGS[setting].key,
  ]);
  if (value === undefined || typeof value === "string") return value;
  throw new KacheError(`${path}: build.${WRAPPER_SETTINGS[setting].key} is not a string`, "fix it by hand");
}

export interface WrapperSource {
  /** An env var name or a config file's path. */
  where: string;
  file?: string;
  value: string;
  /** Where a relative path with a slash is taken from: the dir holding the `.cargo` dir. */
  baseDir: string;
}

export interface WrapperSources {
  /** Highest precedence first: the first is what cargo runs. */
  sources: WrapperSource[];
  /** Config files cargo would fail on (invalid TOML). */
  broken: KacheError[];
}

/** The `.cargo` dirs cargo reads a config from, nearest first: from cwd up, then CARGO_HOME. */
export function cargoConfigDirs(env: Env = process.env, cwd = process.cwd()): string[] {
  const dirs: string[] = [];
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    dirs.push(join(dir, ".cargo"));
    if (dirname(dir) === dir) break;
  }
  const home = cargoHome(env, cwd);
  if (!dirs.includes(home)) dirs.push(home);
  return dirs;
}

/** Every place that sets the wrapper, in cargo's order: env, then `.cargo` dirs from cwd up, then CARGO_HOME. */
export function wrapperSources(
  setting: WrapperSetting,
  env: Env = process.env,
  cwd = process.cwd(),
): WrapperSources {
  const sources: WrapperSource[] = [];
  const broken: KacheError[] = [];
  for (const name of WRAPPER_SETTINGS[setting].env) {
    const value = env[name];
    if (value !== undefined) sources.push({ where: name, value, baseDir: cwd });
  }
  for (const dir of cargoConfigDirs(env, cwd)) {
    const file = cargoConfigIn(dir);
    if (!file.exists) continue;
    try {
      const value = readConfigWrapper(file.path, setting);
      if (value !== undefined)
        sources.push({ where: file.path, file: file.path, value, baseDir: dirname(dir) });
    } catch (error) {
      if (error instanceof KacheError) broken.push(error);
      else throw error;
    }
  }
  return { sources, broken };
}

/**
 * - `kache`: this very binary; `other-kache`: another kache binary (an older install, say);
 * - `missing`: names nothing cargo can run, so every build fails; `disabled`: an empty env value.
 */
export type WrapperKind = "kache" | "other-kache" | "sccache" | "other" | "missing" | "disabled";

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** Resolves a wrapper value as cargo does: a bare name on PATH, a relative path from `baseDir`. */
export function resolveWrapper(value: string, baseDir: string, env: Env = process.env): string | null {
  if (!value.includes("/")) return Bun.which(value, { PATH: env.PATH ?? "" });
  const path = resolve(baseDir, value);
  return existsSync(path) ? path : null;
}

export function classifyWrapper(source: WrapperSource, env: Env = process.env): WrapperKind {
  if (source.value === "") return "disabled";
  const resolved = resolveWrapper(source.value, source.baseDir, env);
  if (!resolved) return "missing";
  if (sameFile(resolved, process.execPath)) return "kache";
  const name = basename(resolved);
  if (/^kache/.test(name)) return "other-kache";
  if (/^sccache/.test(name)) return "sccache";
  return "other";
}

/** Run from source (bun src/main.ts): cargo cannot run bun as the wrapper. */
export function runningFromSource(): boolean {
  return /^bun(-debug)?(\.exe)?$/.test(basename(process.execPath));
}

/**
 * The absolute path to write as the wrapper. A `kache` on PATH that is this same binary wins over
 * the binary's real path: a package manager's symlink (Homebrew's bin/) survives upgrades, the
 * versioned dir it points into does not.
 */
export function kacheProgram(env: Env = process.env): string {
  if (runningFromSource()) {
    throw new KacheError(
      "this kache runs from source under bun, and cargo cannot use bun as its rustc wrapper",
      "build the binary with `bun run build.ts` and run `dist/kache` instead",
    );
  }
  const onPath = Bun.which("kache", { PATH: env.PATH ?? "" });
  if (onPath && isAbsolute(onPath) && sameFile(onPath, process.execPath)) return onPath;
  return process.execPath;
}

/** Rewrites a cargo config through a symlink (a dotfiles repo) keeping its mode; false when unchanged. */
export function editConfigFile(file: string, edit: (text: string) => string): boolean {
  const target = existsSync(file) ? realpathSync(file) : file;
  const text = existsSync(target) ? readFileSync(target, "utf8") : "";
  const edited = edit(text);
  if (edited === text) return false;
  const mode = statSync(target, { throwIfNoEntry: false })?.mode;
  mkdirSync(dirname(target), { recursive: true });
  atomicWrite(target, edited, { mode: mode === undefined ? 0o644 : mode & 0o7777 });
  return true;
}

/** Sets `build.rustc-wrapper` in `file` to `program`, every other byte kept. False when it already was. */
export function writeConfigWrapper(file: string, program: string): boolean {
  const path = ["build", WRAPPER_SETTINGS.wrapper.key];
  return editConfigFile(file, (text) => {
    if (tomlValue(parseToml(text, file), path) === program) return text;
    const edited = setTomlValue(text, file, path, program);
    if (tomlValue(parseToml(edited, file), path) !== program)
      throw new KacheError(
        `editing ${file} did not give build.rustc-wrapper = "${program}"`,
        "set it by hand",
      );
    return edited;
  });
}

/** Removes `build.<setting's key>` from `file`, every other byte kept. False when it was not there. */
export function removeConfigWrapper(file: string, setting: WrapperSetting): boolean {
  return editConfigFile(file, (text) =>
    removeTomlValue(text, file, ["build", WRAPPER_SETTINGS[setting].key]),
  );
}
