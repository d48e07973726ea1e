// The cache key: named components (kept for why-miss) folded in a fixed order into one sha256.
import { hashParts } from "../util/hash";

/** Bump whenever what goes into a component, or how it is written, changes. */
export const KEY_FORMAT_VERSION = 4;

/** The components in the order they are hashed (SPEC §3). */
export const KEY_COMPONENTS = [
  "format",
  "compiler",
  "wrapper",
  "target",
  "crate",
  "codegen",
  "incremental",
  "flags",
  "cfg",
  "sources",
  "env_deps",
  "externs",
  "native_libs",
  "rustflags",
  "cargo_cfg",
  "env",
  "linker",
  "link_inputs",
  "remap",
  "salt",
  "extra_inputs",
] as const;

export type KeyComponentName = (typeof KEY_COMPONENTS)[number];
export type KeyComponents = Record<KeyComponentName, string[]>;

/** What each component means, in the words `why-miss` uses. */
export const KEY_COMPONENT_LABELS: Record<KeyComponentName, string> = {
  format: "kache key format version",
  compiler: "compiler version (rustc -vV)",
  wrapper: "wrapper in front of rustc (clippy-driver) and its config",
  target: "target triple",
  crate: "crate name, crate types or edition",
  codegen: "-C codegen options",
  incremental: "whether the outputs came from an incremental compile",
  flags: "other compiler flags",
  cfg: "--cfg values (features)",
  sources: "source files",
  env_deps: "environment variables read by env!/option_env!",
  externs: "dependencies (--extern)",
  native_libs: "native libraries (-l)",
  rustflags: "RUSTFLAGS",
  cargo_cfg: "CARGO_CFG_* variables",
  env: "other compiler environment variables, and cache.key_env_vars",
  linker: "linker identity",
  link_inputs: "files the linker read (rlibs, native libraries, objects, scripts)",
  remap: "path remapping",
  salt: "key salt (KACHE_KEY_SALT)",
  extra_inputs: "extra inputs from kache.toml",
};

export function digestKey(components: KeyComponents): string {
  const parts: string[] = [];
  for (const name of KEY_COMPONENTS) {
    const lines = components[name];
    parts.push(name, String(lines.length), ...lines);
  }
  return hashParts(parts);
}

/** A key that also pins the machine-local roots, for outputs that embed local paths. */
export function locationBoundKey(key: string, rootsSignature: string): string {
  return hashParts(["location-bound", key, rootsSignature]);
}

/** Names the components that differ between two recorded keys, with the lines that changed. */
export function diffComponents(
  older: Partial<KeyComponents>,
  newer: Partial<KeyComponents>,
): { name: KeyComponentName; added: string[]; removed: string[] }[] {
  const changes: { name: KeyComponentName; added: string[]; removed: string[] }[] = [];
  for (const name of KEY_COMPONENTS) {
    const before = new Set(older[name] ?? []);
    const after = new Set(newer[name] ?? []);
    const added = [...after].filter((line) => !before.has(line));
    const removed = [...before].filter((line) => !after.has(line));
    if (added.length || removed.length) changes.push({ name, added, removed });
  }
  return changes;
}
