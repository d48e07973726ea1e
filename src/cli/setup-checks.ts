// The set-up checks `kache doctor` and `kache init --check` share: does cargo run this kache, does
// sccache stand in its way, is the service there. Each repair edits $CARGO_HOME's config only.
import { homedir } from "node:os";
import { dirname } from "node:path";
import { detectServiceManager, isServiceInstalled, servicePaths } from "../daemon/service";
import { KacheError } from "../util/errors";
import { check, type FixableCheck } from "./check-report";
import {
  type CargoConfigFile,
  cargoConfigIn,
  cargoHome,
  classifyWrapper,
  displayPath,
  type Env,
  kacheProgram,
  readConfigWrapper,
  removeConfigWrapper,
  runningFromSource,
  type WrapperSource,
  wrapperSources,
  writeConfigWrapper,
} from "./wrapper-setup";

export interface SetupContext {
  env: Env;
  cwd: string;
  /** `doctor --fix --purge-sccache`: sccache in $CARGO_HOME's config may go. */
  purgeSccache: boolean;
}

function homeConfig(context: SetupContext): CargoConfigFile {
  return cargoConfigIn(cargoHome(context.env, context.cwd));
}

function where(source: WrapperSource, context: SetupContext): string {
  return source.file ? displayPath(source.file, context.env) : source.where;
}

/** How to get rid of a wrapper set in `source`, in words. */
function removalHint(source: WrapperSource, context: SetupContext): string {
  if (!source.file) return `unset ${source.where} (and remove it from your shell profile)`;
  if (source.file === homeConfig(context).path) return "run `kache init -y` to replace it with kache";
  return `remove build.rustc-wrapper from ${where(source, context)} (cargo prefers it over ~/.cargo)`;
}

/** Points $CARGO_HOME's config at kache, replacing sccache only when purging. */
function fixHomeWrapper(context: SetupContext): () => string {
  return () => {
    const file = homeConfig(context).path;
    const current = readConfigWrapper(file);
    const shown = displayPath(file, context.env);
    if (current !== undefined) {
      const kind = classifyWrapper(
        { where: file, value: current, baseDir: dirname(cargoHome(context.env, context.cwd)) },
        context.env,
      );
      if (kind === "kache") return `${shown} names kache`;
      if (kind !== "sccache" || !context.purgeSccache)
        throw new KacheError(`${shown} names "${current}"`, "run `kache init -y` to replace it");
    }
    const program = kacheProgram(context.env);
    writeConfigWrapper(file, program);
    const change =
      current === undefined
        ? `set build.rustc-wrapper = "${program}"`
        : `replaced build.rustc-wrapper = "${current}" with "${program}"`;
    return `${change} in ${shown}`;
  };
}

/** What cargo runs as its rustc wrapper in this shell and directory. */
export function wrapperCheck(context: SetupContext): FixableCheck {
  const { sources, broken } = wrapperSources("wrapper", context.env, context.cwd);
  if (broken[0]) return check("wrapper", "problem", broken[0].message, "cargo fails on it too: fix the file");
  const home = homeConfig(context);
  const homeValue = sources.find((source) => source.file === home.path);
  const effective = sources[0];
  const homeKind = homeValue && classifyWrapper(homeValue, context.env);
  // Editing $CARGO_HOME's config replaces nothing but sccache (when purging), and helps only where it decides.
  const homeEditable =
    !runningFromSource() && (homeValue === undefined || (context.purgeSccache && homeKind === "sccache"));
  const offerFix = (item: FixableCheck, homeDecides: boolean) => {
    if (homeEditable && homeDecides) item.fix = fixHomeWrapper(context);
    return item;
  };
  if (!effective) {
    const detail = `cargo runs no rustc wrapper: build.rustc-wrapper is not set in ${displayPath(home.path, context.env)}`;
    return offerFix(check("wrapper", "problem", detail, "run `kache init`"), true);
  }
  const kind = classifyWrapper(effective, context.env);
  const from = where(effective, context);
  switch (kind) {
    case "kache":
      if (effective.file || homeKind === "kache")
        return check("wrapper", "ok", `cargo runs ${effective.value} (this kache), set in ${from}`);
      return offerFix(
        check(
          "wrapper",
          "warn",
          `only ${from} names kache: builds started elsewhere (another shell, an IDE) do not use it`,
          "run `kache init`",
        ),
        true,
      );
    case "other-kache":
      return check(
        "wrapper",
        "warn",
        `cargo runs another kache binary, ${effective.value} (${from}); this one is ${process.execPath}`,
        "run `kache init -y` with the kache you mean to use",
      );
    case "sccache":
    case "other":
      return offerFix(
        check(
          "wrapper",
          "problem",
          `cargo runs "${effective.value}" (${from}), not kache`,
          removalHint(effective, context),
        ),
        effective.file === home.path,
      );
    case "missing":
      return offerFix(
        check(
          "wrapper",
          "problem",
          `${from} names "${effective.value}", which does not exist: every cargo build fails`,
          removalHint(effective, context),
        ),
        effective.file === home.path,
      );
    case "disabled":
      return check("wrapper", "problem", `${from} is empty: cargo runs no wrapper`, `unset ${from}`);
  }
}

function isSccache(source: WrapperSource): boolean {
  return /(^|\/)sccache[^/]*$/.test(source.value);
}

/** Removes sccache from $CARGO_HOME's config: the wrapper becomes kache, the workspace wrapper goes. */
function purgeHomeSccache(context: SetupContext): () => string {
  return () => {
    const file = homeConfig(context).path;
    const shown = displayPath(file, context.env);
    const done: string[] = [];
    const wrapper = readConfigWrapper(file);
    if (wrapper !== undefined && isSccache({ where: file, value: wrapper, baseDir: "" })) {
      if (!runningFromSource()) done.push(fixHomeWrapper(context)());
      else if (removeConfigWrapper(file, "wrapper")) done.push(`removed build.rustc-wrapper from ${shown}`);
    }
    const workspace = readConfigWrapper(file, "workspaceWrapper");
    if (workspace !== undefined && isSccache({ where: file, value: workspace, baseDir: "" }))
      if (removeConfigWrapper(file, "workspaceWrapper"))
        done.push(`removed build.rustc-workspace-wrapper from ${shown}`);
    return done.length > 0 ? done.join("; ") : `${shown} names no sccache`;
  };
}

/** sccache set anywhere cargo looks: in force (a problem) or shadowed by kache (it returns when that goes). */
export function sccacheCheck(context: SetupContext): FixableCheck {
  const wrapper = wrapperSources("wrapper", context.env, context.cwd).sources;
  const workspace = wrapperSources("workspaceWrapper", context.env, context.cwd).sources;
  const found = [
    ...wrapper
      .filter(isSccache)
      .map((source) => ({ source, key: "rustc-wrapper", active: source === wrapper[0] })),
    ...workspace
      .filter(isSccache)
      .map((source) => ({ source, key: "rustc-workspace-wrapper", active: source === workspace[0] })),
  ];
  if (found.length === 0) return check("sccache", "ok", "no sccache in cargo's config or the environment");
  const home = homeConfig(context).path;
  const detail = found
    .map(
      ({ source, key }) =>
        `${source.file ? `build.${key} in ${where(source, context)}` : source.where} = "${source.value}"`,
    )
    .join(", ");
  const active = found.some((item) => item.active);
  const inHome = found.some((item) => item.source.file === home);
  const elsewhere = found.find((item) => item.source.file !== home);
  const hint = [
    inHome ? "run `kache doctor --fix --purge-sccache` to take it out of your cargo config" : "",
    elsewhere ? removalHint(elsewhere.source, context) : "",
  ]
    .filter(Boolean)
    .join("; ");
  const item = check(
    "sccache",
    active ? "problem" : "warn",
    active ? `sccache is in force: ${detail}` : `sccache is set but shadowed: ${detail}`,
    hint,
  );
  if (context.purgeSccache && inHome) item.fix = purgeHomeSccache(context);
  return item;
}

/** For `init --check`: the daemon's service, where a service manager runs. */
export function serviceCheck(env: Env): FixableCheck {
  const manager = detectServiceManager(process.platform, env);
  if (!manager.usable)
    return check(
      "service",
      "ok",
      `no service manager here (${manager.why}): wrappers start the daemon when a build needs it`,
    );
  const file = servicePaths(env.HOME ?? homedir(), env, process.platform).file;
  if (isServiceInstalled(env.HOME, env))
    return check("service", "ok", `installed (${displayPath(file, env)})`);
  return check("service", "problem", `not installed (${displayPath(file, env)})`, "run `kache init`");
}
