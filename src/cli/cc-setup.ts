// The C/C++ half of `kache init` and its check (SPEC §11): shims in `<cache dir>/shims`, and
// `CC_<host>`/`CXX_<host>` in $CARGO_HOME's `[env]` so cargo hands them to build scripts (cc-rs),
// unless the user already names a compiler anywhere cargo or cc-rs would look.
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { parseToml, setTomlValue, tomlValue } from "../config/toml-edit";
import { KacheError } from "../util/errors";
import { type CheckStatus, check, type FixableCheck } from "./check-report";
import { describeShims, installShims, refusalError, shimState } from "./shims";
import {
  cargoConfigDirs,
  cargoConfigIn,
  cargoHome,
  displayPath,
  type Env,
  editConfigFile,
  kacheProgram,
} from "./wrapper-setup";

export type CcLanguage = "c" | "c++";
const LANGUAGES: CcLanguage[] = ["c", "c++"];
const VARIABLE: Record<CcLanguage, string> = { c: "CC", "c++": "CXX" };
const SHIM: Record<CcLanguage, string> = { c: "cc", "c++": "c++" };

/** The host triple of the rustc cargo runs (`RUSTC` or rustc on PATH), or null when it will not say. */
export function hostTriple(env: Env): string | null {
  try {
    const child = Bun.spawnSync([env.RUSTC || "rustc", "-vV"], { env, stdout: "pipe", stderr: "ignore" });
    if (!child.success) return null;
    return /^host: (\S+)$/m.exec(child.stdout.toString())?.[1] ?? null;
  } catch {
    return null;
  }
}

export function shimsDir(cacheDir: string): string {
  return join(cacheDir, "shims");
}

export interface EnvEntry {
  language: CcLanguage;
  key: string;
  value: string;
}

/** The `[env]` keys init writes: each in the dashed and the underscored spelling cc-rs reads. */
export function ccEnvEntries(host: string, dir: string): EnvEntry[] {
  return LANGUAGES.flatMap((language) =>
    [host, host.replaceAll("-", "_")].map((triple) => ({
      language,
      key: `${VARIABLE[language]}_${triple}`,
      value: join(dir, SHIM[language]),
    })),
  );
}

/** The names cc-rs reads for the host compiler of a language, in its order of precedence. */
function compilerNames(language: CcLanguage, host: string): string[] {
  const variable = VARIABLE[language];
  const names = [`${variable}_${host}`, `${variable}_${host.replaceAll("-", "_")}`];
  return [...new Set(names), `HOST_${variable}`, `TARGET_${variable}`, variable];
}

export interface CompilerSetting {
  name: string;
  value: string;
  /** The env var, or the config file that sets it in `[env]`. */
  where: string;
  file?: string;
}

function envTableValue(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  const value = (entry as { value?: unknown } | null)?.value;
  return typeof value === "string" ? value : undefined;
}

/** Where a language's compiler is set, in precedence order per name: the environment, then configs nearest first. */
export function compilerSettings(
  language: CcLanguage,
  host: string,
  env: Env,
  cwd: string,
): CompilerSetting[] {
  const names = compilerNames(language, host);
  const tables: { file: string; table: unknown }[] = [];
  for (const dir of cargoConfigDirs(env, cwd)) {
    const file = cargoConfigIn(dir);
    if (!file.exists) continue;
    const table = tomlValue(parseToml(readFileSync(file.path, "utf8"), file.path), ["env"]);
    if (table !== undefined) tables.push({ file: file.path, table });
  }
  const settings: CompilerSetting[] = [];
  for (const name of names) {
    if (env[name] !== undefined) settings.push({ name, value: env[name] as string, where: name });
    for (const { file, table } of tables) {
      const value = envTableValue((table as Record<string, unknown>)[name]);
      if (value !== undefined) settings.push({ name, value, where: file, file });
    }
  }
  return settings;
}

function isThisKache(value: string, env: Env): boolean {
  const path = value.includes("/") ? value : Bun.which(value, { PATH: env.PATH ?? "" });
  if (!path || !existsSync(path)) return false;
  try {
    return realpathSync(path) === realpathSync(process.execPath);
  } catch {
    return false;
  }
}

function shownWhere(setting: CompilerSetting, env: Env): string {
  return setting.file ? `[env] of ${displayPath(setting.file, env)}` : "the environment";
}

export interface CcStep {
  lines: string[];
  changed: boolean;
}

/** What one language needs: the keys to add, or why none are added. */
function plan(language: CcLanguage, entries: EnvEntry[], home: string, env: Env, cwd: string, host: string) {
  const mine = entries.filter((entry) => entry.language === language);
  const settings = compilerSettings(language, host, env, cwd);
  const isMine = (setting: CompilerSetting) =>
    setting.file === home &&
    mine.some((entry) => entry.key === setting.name && entry.value === setting.value);
  const theirs = settings.find((setting) => !isMine(setting));
  if (theirs) {
    const kache = isThisKache(theirs.value, env) ? " (a kache shim)" : "";
    const line = `${VARIABLE[language]} for build scripts: ${theirs.name}="${theirs.value}"${kache} is set in ${shownWhere(theirs, env)}; kache leaves it`;
    return { add: [] as EnvEntry[], line };
  }
  return { add: mine.filter((entry) => !settings.some((setting) => setting.name === entry.key)), line: null };
}

/** Installs the shims and adds the missing `[env]` keys to $CARGO_HOME's config, every other byte kept. */
export function setUpCc(cacheDir: string, program: string, env: Env, cwd: string): CcStep {
  const host = hostTriple(env);
  if (!host)
    return {
      lines: [
        "C/C++: skipped: `rustc -vV` named no host triple, so kache cannot tell which CC_<triple> to set",
      ],
      changed: false,
    };
  const dir = shimsDir(cacheDir);
  const results = installShims(dir, program);
  const lines = describeShims(dir, results, program);
  const refused = refusalError(results);
  if (refused) throw refused;
  const home = cargoConfigIn(cargoHome(env, cwd)).path;
  const entries = ccEnvEntries(host, dir);
  const add: EnvEntry[] = [];
  for (const language of LANGUAGES) {
    const step = plan(language, entries, home, env, cwd, host);
    if (step.line) lines.push(step.line);
    add.push(...step.add);
  }
  const shown = displayPath(home, env);
  const changed = add.length > 0 && editConfigFile(home, (text) => addEntries(text, home, add));
  if (changed)
    lines.push(
      `cargo config: set [env] ${add.map((entry) => entry.key).join(", ")} in ${shown} (build scripts compile C/C++ through kache)`,
    );
  else if (lines.every((line) => !line.includes("kache leaves it")))
    lines.push(
      `cargo config: [env] of ${shown} already points CC/CXX for ${host} at kache's shims (unchanged)`,
    );
  const shimsChanged = results.some((result) => result.action !== "unchanged");
  return { lines, changed: changed || shimsChanged };
}

function addEntries(text: string, file: string, entries: EnvEntry[]): string {
  let edited = text;
  for (const entry of entries) edited = setTomlValue(edited, file, ["env", entry.key], entry.value);
  const document = parseToml(edited, file);
  for (const entry of entries)
    if (tomlValue(document, ["env", entry.key]) !== entry.value)
      throw new KacheError(
        `editing ${file} did not give [env] ${entry.key} = "${entry.value}"`,
        "set it by hand",
      );
  return edited;
}

const UNSET = " not set up: build scripts compile uncached";

interface Part {
  status: CheckStatus;
  detail: string;
  hint: string;
  repairable: boolean;
}

/** The compiler cc-rs would use for the host in a build script started here: the first name set. */
function effectiveSetting(
  language: CcLanguage,
  host: string,
  env: Env,
  cwd: string,
): CompilerSetting | undefined {
  const settings = compilerSettings(language, host, env, cwd);
  for (const name of compilerNames(language, host)) {
    const found = settings.find((setting) => setting.name === name);
    if (found) return found;
  }
  return undefined;
}

function languagePart(
  language: CcLanguage,
  host: string,
  dir: string,
  env: Env,
  cwd: string,
  missing: CheckStatus,
): Part {
  const setting = effectiveSetting(language, host, env, cwd);
  const variable = VARIABLE[language];
  if (!setting)
    return {
      status: missing,
      detail: `${variable}${UNSET}`,
      hint: "run `kache init`",
      repairable: false,
    };
  const said = `${setting.name}="${displayPath(setting.value, env)}" (${shownWhere(setting, env)})`;
  const ourShim = setting.value === join(dir, SHIM[language]);
  const state = ourShim ? shimState(setting.value, process.execPath) : null;
  if (state === "absent" || state === "other-kache" || state === "foreign") {
    const what =
      state === "absent"
        ? "is missing"
        : state === "other-kache"
          ? "points at another kache"
          : "is not kache's";
    return {
      status: "problem",
      detail: `${said}: the shim ${what}`,
      hint: "run `kache doctor --fix`",
      repairable: state !== "foreign",
    };
  }
  if (ourShim || isThisKache(setting.value, env))
    return { status: "ok", detail: `${said} runs kache`, hint: "", repairable: false };
  return { status: "ok", detail: `${said} is set by you; kache leaves it`, hint: "", repairable: false };
}

const RANK: Record<CheckStatus, number> = { ok: 0, fixed: 0, warn: 1, problem: 2 };

/** `C/C++`: are build scripts' host compilers kache's shims, and are the shims there and this kache's. */
export function ccCheck(cacheDir: string, env: Env, cwd: string, missing: CheckStatus): FixableCheck {
  const host = hostTriple(env);
  if (!host) return check("C/C++", "warn", "`rustc -vV` named no host triple", "check that rustc runs");
  const dir = shimsDir(cacheDir);
  let parts: Part[];
  try {
    parts = LANGUAGES.map((language) => languagePart(language, host, dir, env, cwd, missing));
  } catch (error) {
    if (error instanceof KacheError)
      return check("C/C++", "problem", error.message, "cargo fails on it too: fix the file");
    throw error;
  }
  const worst = parts.reduce((a, b) => (RANK[b.status] > RANK[a.status] ? b : a));
  const detail = parts.every((part) => part.detail.endsWith(UNSET))
    ? `CC and CXX for ${host}${UNSET}`
    : parts.map((part) => part.detail).join("; ");
  const item = check("C/C++", worst.status, detail, worst.hint);
  if (parts.some((part) => part.repairable))
    item.fix = () => {
      const program = kacheProgram(env);
      const results = installShims(dir, program);
      const refused = refusalError(results);
      if (refused) throw refused;
      return describeShims(dir, results, program).join("; ");
    };
  return item;
}
