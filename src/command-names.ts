// The names kache takes as its own commands (SPEC §9). Anything else that names an executable is a
// compiler to wrap, so this list is read on every call and must stay free of CLI code.
export const COMMAND_NAMES: ReadonlySet<string> = new Set([
  "init",
  "doctor",
  "monitor",
  "stats",
  "list",
  "why-miss",
  "report",
  "sync",
  "save-manifest",
  "gc",
  "purge",
  "clean",
  "config",
  "daemon",
  "install-shims",
  "completions",
  "help",
  "version",
]);

/** The hidden command a wrapper runs in a detached process to finish a miss's store. */
export const STORE_JOB_COMMAND = "__store-job";
