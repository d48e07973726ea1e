// The header's word on how cargo reaches kache here: a cargo config, an env var, or not at all (with
// what to run about it).
import { classifyWrapper, displayPath, wrapperSources } from "../cli/wrapper-setup";

export interface WrapperState {
  ok: boolean;
  text: string;
}

export function wrapperState(env = process.env, cwd = process.cwd()): WrapperState {
  let found: ReturnType<typeof wrapperSources>;
  try {
    found = wrapperSources("wrapper", env, cwd);
  } catch {
    return { ok: false, text: "wrapper: unknown (a cargo config could not be read)" };
  }
  const broken = found.broken[0];
  if (broken) return { ok: false, text: `wrapper: ${broken.message}` };
  const effective = found.sources[0];
  if (!effective) return { ok: false, text: "wrapper: not set up (run `kache init`)" };
  const where = effective.file ? displayPath(effective.file, env) : `env ${effective.where}`;
  switch (classifyWrapper(effective, env)) {
    case "kache":
      return effective.file
        ? { ok: true, text: `wrapper: cargo config ${where}` }
        : { ok: true, text: `wrapper: ${where} (this shell only; \`kache init\` for every build)` };
    case "other-kache":
      return { ok: false, text: `wrapper: another kache binary, ${effective.value} (${where})` };
    case "sccache":
      return { ok: false, text: `wrapper: sccache (${where}); \`kache init -y\` to switch` };
    case "missing":
      return { ok: false, text: `wrapper: ${effective.value} (${where}) does not exist` };
    case "disabled":
      return { ok: false, text: `wrapper: disabled by an empty ${effective.where}` };
    default:
      return { ok: false, text: `wrapper: ${effective.value} (${where}), not kache` };
  }
}
