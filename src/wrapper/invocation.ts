// One wrapped compiler call: what runs, with which arguments, where and under which settings.
import type { Settings } from "../config/settings";
import type { RustcArgs } from "./rustc-args";

export interface Invocation {
  /** The compiler command: rustc, or a wrapper (clippy-driver) followed by rustc. */
  command: string[];
  compiler: string;
  wrapper: string | null;
  args: RustcArgs;
  cwd: string;
  /** Where cargo runs for this build (the workspace): what the daemon prefetches for. */
  projectDir: string;
  env: Record<string, string | undefined>;
  settings: Settings;
}
