// The closed sets of wrapper outcomes and pass-through reasons, with the words users see.

export const OUTCOMES = ["local hit", "remote hit", "prefetch hit", "miss", "passthrough"] as const;

export type Outcome = (typeof OUTCOMES)[number];

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
  "link-inputs-unknown": "the linker cannot list the files it reads, so the link is not cached",
  lto: "under LTO rustc reads the dependencies' code itself, so the link is not cached",
  "compile-failed": "the compiler failed; failures are not cached",
  "cache-error": "kache hit an internal problem and ran the compiler directly",
  "unknown-compiler": "the compiler does not answer -vV like rustc",
  "index-newer": "the cache index was written by a newer kache; it is left alone",
  "cache-dir-refused": "the cache dir belongs to another user or is writable by everyone",
  "preprocess-only": "-E: preprocessor output is not cached",
  "assembly-output": "-S: assembly output is not cached",
  "deps-only": "-M/-MM: dependency output without a compile",
  "compile-and-link": "a compile without -c (compiles and links in one call)",
  "multiple-sources": "several sources in one call",
  "assembly-source": "an assembly source (.s/.S)",
  "unsupported-language": "a source in a language other than C or C++",
  "precompiled-header": "precompiled headers are not cached",
  coverage: "coverage instrumentation needs real paths",
  "save-temps": "-save-temps writes intermediate files",
  "response-file": "arguments in a response file (@file)",
  "stdout-output": "output to stdout (-o -)",
  "special-output": "the object or dep file is a device or directory (-o /dev/null, -MF /dev/null)",
  "output-dir-missing": "the object's directory does not exist (the compiler says so)",
  "time-macros": "the source expands __DATE__ or __TIME__",
  incbin: "the source pulls a file in with .incbin or #embed, which the preprocessor's output does not show",
  "preprocess-failed": "the preprocessor failed (the compile will show why)",
} as const;

export type PassthroughReason = keyof typeof PASSTHROUGH_REASONS;
