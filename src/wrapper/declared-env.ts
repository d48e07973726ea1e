// cache.key_env_vars: env vars a proc-macro or build tool reads without telling rustc, in the key.

/** True when `name` is one of `patterns`: an exact name, or a prefix ending in `*`. */
function declared(name: string, patterns: string[]): boolean {
  return patterns.some((pattern) =>
    pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern,
  );
}

/**
 * The key lines for the declared variables: nothing when none are declared (keys stay as they
 * were), else the patterns themselves and each matching `NAME=value`, exactly as set. The patterns
 * count even when nothing matches: an entry stored before the declaration, maybe from the other
 * value, must not be hit by a build that leaves the variable unset.
 */
export function declaredEnvLines(patterns: string[], env: Record<string, string | undefined>): string[] {
  if (patterns.length === 0) return [];
  const matches = Object.keys(env)
    .filter((name) => env[name] !== undefined && declared(name, patterns))
    .sort()
    .map((name) => `${name}=${env[name]}`);
  return [`declared ${[...patterns].sort().join(",")}`, ...matches];
}

/** The declared part of an env component: from its `declared` line on (empty when none are declared). */
export function declaredPart(envLines: string[]): string[] {
  const start = envLines.findIndex((line) => line.startsWith("declared "));
  return start < 0 ? [] : envLines.slice(start);
}
