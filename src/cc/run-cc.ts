// C/C++ wrapper mode entry: find the real compiler, decide cache or pass-through, run the flow, and
// turn any kache failure into the plain compile the build asked for.
import { existsSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { loadSettings } from "../config/load";
import { configSearchDir } from "../config/project-dir";
import type { Settings } from "../config/settings";
import { ensureCacheDir } from "../store/cache-dir";
import { describeError } from "../util/errors";
import { log, setLogLevel } from "../util/log";
import { writeAllSync } from "../util/write-all";
import { passthroughFor } from "../wrapper/cache-failure";
import { exitLike, runPassthrough } from "../wrapper/compiler-process";
import { warnConfigIssues } from "../wrapper/config-warnings";
import type { PassthroughReason } from "../wrapper/outcomes";
import { report } from "../wrapper/report";
import { type CcArgs, depFilePath, objectPath, parseCcArgs } from "./cc-args";
import { type CcFlowState, ccCachedCompile } from "./cc-flow";
import type { CcInvocation } from "./detect";
import { CC_LOOP_GUARD, findRealCompiler, noCompilerMessage, userCompiler } from "./real-compiler";

function guardedEnv(): Record<string, string | undefined> {
  return { ...process.env, [CC_LOOP_GUARD]: "1" };
}

/** The call exactly as given, sharing our stdio; an event only for a call that compiles a source. */
function passThrough(
  compiler: string,
  inv: CcInvocation,
  parsed: CcArgs | null,
  settings: Settings | null,
  reason: PassthroughReason,
): never {
  const started = performance.now();
  const status = runPassthrough([compiler, ...inv.args], process.cwd(), guardedEnv());
  if (settings && parsed && !parsed.noSource) {
    const ms = performance.now() - started;
    // A refused cache dir is not ours to write events into.
    const events = reason === "cache-dir-refused" ? null : settings;
    report(
      events,
      settings.progress,
      {
        crate: basename(parsed.source ?? ""),
        language: parsed.language ?? "c",
        outcome: "passthrough",
        reason,
        detail: parsed.passthroughDetail,
        elapsedMs: ms,
        compileMs: ms,
        size: 0,
        key: null,
        phases: {},
        prepass: false,
      },
      false,
    );
  }
  exitLike(status);
}

function globMatches(pattern: string, path: string): boolean {
  try {
    return new Bun.Glob(pattern).match(path);
  } catch {
    return false;
  }
}

/** A path that exists and is no regular file (`/dev/null`): a restore must never rename over it. */
function isSpecialFile(path: string | null, cwd: string): boolean {
  if (path === null) return false;
  try {
    return !statSync(resolve(cwd, path)).isFile();
  } catch {
    return false;
  }
}

/** Why a parsed compile is not cached under these settings, or null when it is. */
function passthroughReason(parsed: CcArgs, settings: Settings, cwd: string): PassthroughReason | null {
  if (settings.disabled) return "disabled";
  if (parsed.passthrough) return parsed.passthrough;
  // gcc writes a dep file named by these on its own: a hit would not restore it.
  if (process.env.DEPENDENCIES_OUTPUT || process.env.SUNPRO_DEPENDENCIES) return "unsupported-flag";
  if (isSpecialFile(objectPath(parsed), cwd) || isSpecialFile(depFilePath(parsed), cwd))
    return "special-output";
  // The compiler says why it cannot write there; a restore would only fail on the way.
  if (!existsSync(dirname(resolve(cwd, objectPath(parsed))))) return "output-dir-missing";
  const source = resolve(cwd, parsed.source!);
  if (settings.exclude.some((pattern) => globMatches(pattern, source))) return "excluded";
  return null;
}

/** Looked up where cargo ran when a build script runs the compiler, as the Rust wrapper does. */
function loadCcSettings(cwd: string): Settings {
  const loaded = loadSettings({ cwd, searchFrom: configSearchDir(cwd, null, null) });
  setLogLevel(loaded.settings.logLevel);
  warnConfigIssues(loaded.errors, loaded.settings.cacheDir);
  return loaded.settings;
}

export async function runCc(inv: CcInvocation): Promise<never> {
  const language = /\+\+/.test(inv.name) ? "c++" : "c";
  const asked = inv.masquerade ? userCompiler(language, process.env) : null;
  const compiler = asked ? asked.found : findRealCompiler(inv.compiler, process.env);
  if (!compiler) {
    process.stderr.write(`${noCompilerMessage(asked?.wanted ?? inv.name)}\n`);
    process.exit(127);
  }
  // A "real" compiler that is a script calling cc again: compile, never go round the loop.
  if (process.env[CC_LOOP_GUARD]) exitLike(runPassthrough([compiler, ...inv.args], process.cwd()));
  const cwd = process.cwd();
  let parsed: CcArgs | null = null;
  let settings: Settings | null = null;
  const state: CcFlowState = { compiled: false };
  try {
    parsed = parseCcArgs(inv.args, inv.name);
    // Links, version queries and configure probes: no source, no event.
    if (parsed.noSource) passThrough(compiler, inv, null, null, "no-input");
    settings = loadCcSettings(cwd);
    const reason = passthroughReason(parsed, settings, cwd);
    if (reason) passThrough(compiler, inv, parsed, settings, reason);
    ensureCacheDir(settings.cacheDir);
    const call = { compiler, args: inv.args, parsed, cwd, env: process.env, settings };
    const result = await ccCachedCompile(call, state);
    report(settings, settings.progress, result.event, false);
    if (result.replayStderr) writeAllSync(2, result.replayStderr);
    exitLike(result.status);
  } catch (error) {
    // Transparency: whatever went wrong inside kache, the build gets the real compiler's answer.
    if (state.compiled) {
      log.warn(`internal error after compiling (${describeError(error)}); the compiler's result stands`);
      exitLike(state.status ?? { exitCode: 1, signal: null });
    }
    const { reason, warn } = passthroughFor(error, settings);
    if (warn) log.warn(warn);
    log.debug((error as Error)?.stack ?? "");
    passThrough(compiler, inv, parsed, settings, reason);
  }
}
