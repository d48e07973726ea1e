// Short tags for the compiler and the target an entry was built with. The remote marks each entry
// with them, so a prefetch pulls only what this machine's compiler can use (SPEC §8).
import { hashParts } from "../util/hash";
import type { KeyComponents } from "./cache-key";
import { declaredPart } from "./declared-env";

/** 16 hex digits: the tags steer what a prefetch downloads; correctness rests on the full key. */
const TAG_LENGTH = 16;

export interface ToolchainTags {
  compiler: string;
  /** The entry's target; a build session's: its own target and the host's. */
  targets: string[];
}

function tag(kind: string, lines: string[]): string {
  return hashParts([kind, ...lines]).slice(0, TAG_LENGTH);
}

/**
 * The compiler an entry was built with, and its key's salt and declared env vars (cache.key_salt,
 * cache.key_env_vars) when there are any: a prefetch then leaves another salt's entries in the
 * bucket, which its build could never use. With neither, the compiler's alone, as before.
 */
export function compilerTag(
  components: Pick<KeyComponents, "compiler"> & Partial<Pick<KeyComponents, "salt" | "env">>,
): string {
  const flavour = [...(components.salt ?? []), ...declaredPart(components.env ?? [])];
  return tag(
    "compiler",
    flavour.length === 0 ? components.compiler : [...components.compiler, "flavour", ...flavour],
  );
}

export function targetTag(target: string): string {
  return tag("target", [target]);
}

/** An entry's tags: one compiler and one target. */
export function entryTags(
  components: Pick<KeyComponents, "compiler" | "target"> & Partial<Pick<KeyComponents, "salt" | "env">>,
): ToolchainTags {
  return { compiler: compilerTag(components), targets: [targetTag(components.target.join("\n"))] };
}

/**
 * What a build session can use, seen from one of its calls: this call's compiler, its target, and
 * the host (build scripts and proc-macros build for the host even when cargo cross-compiles).
 */
export function sessionTags(
  components: Pick<KeyComponents, "compiler" | "target"> & Partial<Pick<KeyComponents, "salt" | "env">>,
): ToolchainTags {
  const own = components.target.join("\n");
  const host = /^host: (\S+)$/m.exec(components.compiler[0] ?? "")?.[1];
  const targets = [own, ...(host && host !== own ? [host] : [])];
  return { compiler: compilerTag(components), targets: targets.map(targetTag) };
}

/**
 * What an entry's compile emitted: `link` (an rlib, a binary: `cargo build`), `meta` (metadata
 * alone: `cargo check`), `other` (asm, llvm-ir...). A build never uses a check's entry.
 */
export type OutputKind = "link" | "meta" | "other";

export function outputKind(components: Partial<Pick<KeyComponents, "flags">>): OutputKind {
  const emit = (components.flags ?? []).find((line) => line.startsWith("emit="))?.slice("emit=".length) ?? "";
  const kinds = emit.split(",").map((kind) => kind.split("=")[0]);
  if (emit === "" || kinds.includes("link")) return "link"; // no --emit: rustc's default, link
  return kinds.includes("metadata") ? "meta" : "other";
}

/**
 * What a call says of its build session: `cargo build`, `test` and `run` link libraries and
 * binaries, `check`, `clippy` and `doc` emit their metadata alone. null from a call that links in
 * every session (a build script, a proc-macro) or emits something else.
 */
export function sessionLinks(
  call: { crateName?: string | null; crateTypes: string[] },
  components: Partial<Pick<KeyComponents, "flags">>,
): boolean | null {
  if (call.crateName?.startsWith("build_script_") || call.crateTypes.includes("proc-macro")) return null;
  const kind = outputKind(components);
  return kind === "other" ? null : kind === "link";
}

const TAG = /^[0-9a-f]{16}$/;

/** A request's tags as they must look; anything else from the socket is ignored. */
export function isToolchainTags(value: unknown): value is ToolchainTags {
  const tags = value as ToolchainTags | null | undefined;
  return (
    typeof tags?.compiler === "string" &&
    TAG.test(tags.compiler) &&
    Array.isArray(tags.targets) &&
    tags.targets.length > 0 &&
    tags.targets.every((target) => typeof target === "string" && TAG.test(target))
  );
}
