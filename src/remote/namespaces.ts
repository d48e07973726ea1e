// Saved manifests: `{prefix}/.namespaces/{name}.json`, the crates and keys one build of a workspace
// used (`kache save-manifest`, typically in CI after a build). A prefetch pulls exactly those first,
// most expensive first: they match the toolchain and target that build used.
import { readFileSync, writeFileSync } from "node:fs";
import type { RemoteSettings } from "../config/settings";
import { unlinkQuietly } from "../util/atomic-write";
import type { Remote } from "./remote";

export const NAMESPACE = /^[A-Za-z0-9_.-]{1,100}$/;
export const DEFAULT_NAMESPACE = "default";
const NAMESPACE_MAX_BYTES = 8 * 1024 * 1024;

export interface SavedEntry {
  crate: string;
  key: string;
  size: number;
  compileMs: number;
}

export interface SavedManifest {
  format: 1;
  created: number;
  workspace: string;
  entries: SavedEntry[];
}

export function namespaceObjectKey(settings: RemoteSettings, name: string): string {
  const prefix = settings.prefix.replace(/^\/+|\/+$/g, "");
  return `${prefix ? `${prefix}/` : ""}.namespaces/${name}.json`;
}

export async function saveNamespace(
  remote: Remote,
  settings: RemoteSettings,
  name: string,
  manifest: SavedManifest,
  temp: string,
): Promise<void> {
  writeFileSync(temp, JSON.stringify(manifest), { mode: 0o600 });
  try {
    await remote.upload(namespaceObjectKey(settings, name), temp);
  } finally {
    unlinkQuietly(temp);
  }
}

/** The saved manifest of a namespace, or null when there is none (or it is not one). */
export async function loadNamespace(
  remote: Remote,
  settings: RemoteSettings,
  name: string,
  temp: string,
): Promise<SavedManifest | null> {
  try {
    if (!(await remote.download(namespaceObjectKey(settings, name), temp, NAMESPACE_MAX_BYTES))) return null;
    const value = JSON.parse(readFileSync(temp, "utf8")) as SavedManifest;
    if (value?.format !== 1 || !Array.isArray(value.entries)) return null;
    const valid = value.entries.filter(
      (entry) =>
        typeof entry?.crate === "string" &&
        /^[A-Za-z0-9_.-]+$/.test(entry.crate) &&
        typeof entry.key === "string" &&
        /^[0-9a-f]{64}$/.test(entry.key) &&
        Number.isFinite(entry.size) &&
        Number.isFinite(entry.compileMs),
    );
    return { ...value, entries: valid };
  } catch {
    return null;
  } finally {
    unlinkQuietly(temp);
  }
}
