// The closed sets of wrapper outcomes and pass-through reasons, with the words users see.

export type Outcome = "local hit" | "remote hit" | "miss" | "passthrough";

export const PASSTHROUGH_REASONS = {
  "no-input": "no source file (version, help or explain query)",
  "stdin-input": "source read from stdin",
  print: "--print query",
  "unsupported-emit": "--emit kind the store does not model",
  "unsupported-flag": "a flag kache does not understand",
  profiling: "profile-guided optimisation needs real paths",
  "split-debuginfo": "split debuginfo files are not cached",
  excluded: "source matches cache.exclude",
  disabled: "KACHE_DISABLED is set",
  "executables-disabled": "executables are not cached (cache_executables = false)",
  "unknown-wrapper": "another wrapper in front of rustc",
  "prepass-failed": "dep-info pre-pass failed (the compile will show why)",
  "compile-failed": "the compiler failed; failures are not cached",
  "cache-error": "kache hit an internal problem and ran the compiler directly",
} as const;

export type PassthroughReason = keyof typeof PASSTHROUGH_REASONS;
