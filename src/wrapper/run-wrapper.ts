// Wrapper mode entry: decide cache or pass-through, run the flow, and turn any kache failure into a plain compile.
import { resolve } from "node:path";
import { loadSettings } from "../config/load";
import { configSearchDir } from "../config/project-dir";
import type { Settings } from "../config/settings";
import { ensureCacheDir } from "../store/cache-dir";
import { IndexDb } from "../store/index-db";
import { isCorruption } from "../store/index-file";
import { describeError } from "../util/errors";
import { log, setLogLevel, setLogWriter } from "../util/log";
import { writeToCargoStderr } from "../util/parent-stderr";
import { writeAllSync } from "../util/write-all";
import { passthroughFor } from "./cache-failure";
import { cachedCompile, type FlowState, unlinkOutputs } from "./cached-compile";
import { exitLike } from "./compiler-process";
import { warnConfigIssues } from "./config-warnings";
import { type CommandLine, splitCommandLine } from "./detect";
import { runPassthroughCall } from "./fallback";
import type { Invocation } from "./invocation";
import type { PassthroughReason } from "./outcomes";
import { producesExecutable } from "./output-files";
import { report } from "./report";
import { parseRustcArgs, type RustcArgs, stripIncremental } from "./rustc-args";

function globMatches(pattern: string, path: string): boolean {
  try {
    return new Bun.Glob(pattern).match(path);
  } catch {
    return false;
  }
}

/** Why this call must not be cached, or null when it can be. */
function passthroughReason(
  cmd: CommandLine,
  args: RustcArgs,
  settings: Settings,
  cwd: string,
): PassthroughReason | null {
  if (settings.disabled) return "disabled";
  if (cmd.unknownWrapper) return "unknown-wrapper";
  if (args.passthrough) return args.passthrough;
  if (!args.crateName || !args.outDir) return "unsupported-flag";
  const split = args.codegen.findLast(([k]) => k === "split-debuginfo")?.[1];
  if (split && split !== "off" && process.platform !== "darwin") return "split-debuginfo";
  if (producesExecutable(args) && !settings.cacheExecutables) return "executables-disabled";
  const source = args.input!.startsWith("/") ? args.input! : `${cwd}/${args.input}`;
  if (settings.exclude.some((pattern) => globMatches(pattern, source))) return "excluded";
  return null;
}

function passThrough(
  cmd: CommandLine,
  cwd: string,
  settings: Settings | null,
  reason: PassthroughReason,
  args: RustcArgs | null,
  recordEvent = true,
): never {
  const started = performance.now();
  // Outputs restored earlier may be hardlinks into the store: never let the compiler write through them.
  if (args?.outDir && args.crateName) unlinkOutputs(args, resolve(cwd, args.outDir));
  // Exactly the call cargo made, unless cache.incremental = "strip" asks for its old behaviour.
  const rest = settings?.incremental === "strip" ? stripIncremental(cmd.rest) : cmd.rest;
  // Cargo's own probes (`rustc -vV`, `- --print ...`) are cargo's questions, not compile units:
  // neither announced nor recorded, so the pass-through a probe is costs no event-log write.
  const probe = args === null || ["no-input", "stdin-input", "print"].includes(args.passthrough ?? "");
  // What kache does not cache goes to cache.fallback (sccache, say); cargo swallows a probe's warnings.
  const notices = { warn: !probe, markerDir: recordEvent ? (settings?.cacheDir ?? null) : null };
  const status = runPassthroughCall([...cmd.command, ...rest], cwd, settings, notices);
  if (settings && args?.crateName && !probe) {
    report(recordEvent ? settings : null, settings.progress, {
      crate: args.crateName,
      outcome: "passthrough",
      reason,
      detail: args.passthroughDetail,
      elapsedMs: performance.now() - started,
      compileMs: performance.now() - started,
      size: 0,
      key: null,
      phases: {},
      prepass: false,
    });
  }
  exitLike(status);
}

/**
 * An index that opens but fails on its first real query is quarantined, and the call retried once;
 * so is a call whose index another wrapper quarantined meanwhile, whatever its error was.
 */
async function cachedCompileRepairing(invocation: Invocation, state: FlowState) {
  const { cacheDir } = invocation.settings;
  const started = Date.now();
  try {
    return await cachedCompile(invocation, state);
  } catch (error) {
    if (state.compiled) throw error;
    if (isCorruption(error)) IndexDb.repair(cacheDir);
    // The aside name's clock is another process's Date.now(): a second of slack costs one retry.
    else if (!IndexDb.repairedSince(cacheDir, started - 1000)) throw error;
    return await cachedCompile(invocation, state);
  }
}

export async function runWrapper(argv: string[]): Promise<never> {
  // Cargo would replay our own stderr's lines with the unit, on every build while it stays fresh.
  setLogWriter(writeToCargoStderr);
  const cwd = process.cwd();
  const cmd = splitCommandLine(argv);
  let settings: Settings | null = null;
  let args: RustcArgs | null = null;
  const state: FlowState = { compiled: false };
  try {
    args = parseRustcArgs(cmd.rest);
    const projectDir = configSearchDir(cwd, args.outDir, args.target);
    const loaded = loadSettings({ cwd, searchFrom: projectDir });
    settings = loaded.settings;
    setLogLevel(settings.logLevel);
    warnConfigIssues(loaded.errors, settings.cacheDir);
    const reason = passthroughReason(cmd, args, settings, cwd);
    if (reason) passThrough(cmd, cwd, settings, reason, args);
    ensureCacheDir(settings.cacheDir);
    const invocation: Invocation = {
      command: cmd.command,
      compiler: cmd.compiler,
      wrapper: cmd.wrapper,
      args,
      cwd,
      projectDir,
      env: process.env,
      settings,
    };
    const result = await cachedCompileRepairing(invocation, state);
    report(settings, settings.progress, result.event);
    if (result.replay) {
      writeAllSync(1, result.replay.stdout);
      writeAllSync(2, result.replay.stderr);
    }
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
    // A refused cache dir is not ours to write events into.
    passThrough(cmd, cwd, settings, reason, args, reason !== "cache-dir-refused");
  }
}
