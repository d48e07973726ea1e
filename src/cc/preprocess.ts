// The `-E` run whose output keys a C/C++ compile: dates pinned, line markers' paths normalised.
import type { PathNormaliser } from "../util/path-roots";
import { withJobserverFds } from "../wrapper/compiler-process";
import { CC_LOOP_GUARD } from "./real-compiler";

/** Pinned when the user sets no SOURCE_DATE_EPOCH: 1970-01-01 00:00:01, easy to recognise. */
const PINNED_EPOCH = "1";
const PINNED_DATE = '"Jan  1 1970"';
const PINNED_TIME = '"00:00:01"';

export interface Preprocessed {
  /** The text, line markers normalised; null when the preprocessor failed. */
  text: string | null;
  /** The source expands __DATE__/__TIME__ under a pinned epoch: the compile's would differ. */
  usesTime: boolean;
  /** The source pulls a file into the object with `.incbin` (inline assembly) or `#embed`, unseen by the key. */
  usesIncbin: boolean;
  /** The files the preprocessor read, as its line markers name them: for direct mode. */
  inputs: string[];
  ms: number;
}

/**
 * The files named by the line markers, as they name them (relative to the call's dir, or
 * absolute), less gcc's pseudo-files and the working-directory marker.
 */
export function markerNames(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(/^# \d+ "((?:[^"\\\n]|\\.)*)"/gm)) {
    const name = match[1]!.replace(/\\(.)/g, "$1");
    if (name.startsWith("<") || name.endsWith("//")) continue;
    names.add(name);
  }
  return [...names];
}

/** `# 12 "/abs/x.h" 2`: only a line marker's path is a location; a string in the code is left alone. */
export function normaliseLineMarkers(text: string, normaliser: PathNormaliser): string {
  return text.replace(/^# \d+ "[^"\n]*"/gm, (marker) => normaliser.normalise(marker));
}

export function runPreprocessor(
  command: string[],
  cwd: string,
  env: Record<string, string | undefined>,
  normaliser: PathNormaliser,
): Preprocessed {
  const started = performance.now();
  const pinned = env.SOURCE_DATE_EPOCH === undefined;
  const result = Bun.spawnSync({
    cmd: [...command, "-E"],
    cwd,
    env: { ...env, SOURCE_DATE_EPOCH: env.SOURCE_DATE_EPOCH ?? PINNED_EPOCH, [CC_LOOP_GUARD]: "1" },
    stdio: withJobserverFds(["ignore", "pipe", "pipe"], env) as never,
    maxBuffer: 1 << 30,
  });
  const ms = performance.now() - started;
  if (!result.success) return { text: null, usesTime: false, usesIncbin: false, inputs: [], ms };
  const raw = result.stdout.toString();
  const usesTime = pinned && (raw.includes(PINNED_DATE) || raw.includes(PINNED_TIME));
  // `#embed` (C23) may stay a directive in the output, naming a file whose bytes are not there.
  const usesIncbin = raw.includes(".incbin") || /^\s*#\s*embed\b/m.test(raw);
  const text = normaliseLineMarkers(raw, normaliser);
  return { text, usesTime, usesIncbin, inputs: markerNames(raw), ms };
}
