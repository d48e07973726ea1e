// Expands `~`, `$VAR` and `${VAR}` in path-like settings at load time, so later code sees plain paths.
import { join } from "node:path";
import { type Env, homeDir } from "./settings";

const VARIABLE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** Variables that have a well-known default when unset, as the tools that own them define it. */
function fallbackFor(name: string, env: Env): string | undefined {
  if (name === "CARGO_HOME") return join(homeDir(env), ".cargo");
  if (name === "HOME") return homeDir(env);
  return undefined;
}

/**
 * Returns the expanded text and the names of unset variables. An unset variable is reported
 * rather than replaced by "", because `$UNSET/**` would otherwise become `/**`.
 */
export function expandPath(text: string, env: Env): { value: string; missing: string[] } {
  const missing: string[] = [];
  let value = text.replace(VARIABLE, (whole, braced?: string, bare?: string) => {
    const name = (braced ?? bare)!;
    const replacement = env[name] || fallbackFor(name, env);
    if (replacement === undefined) {
      missing.push(name);
      return whole;
    }
    return replacement;
  });
  if (value === "~" || value.startsWith("~/")) value = homeDir(env) + value.slice(1);
  return { value, missing };
}
