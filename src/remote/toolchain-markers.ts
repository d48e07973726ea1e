// Toolchain markers: an empty object
// `{prefix}/{crate}/toolchains/{compiler}.{target}.{output}.{used}/{key}` next to each entry,
// naming the compiler and target that built it, what it emitted and when the uploading machine last
// used it. A crate's listing (one request) then tells a prefetch which entries this machine can use
// and which is the newest, without opening any archive.
import { writeFileSync } from "node:fs";
import type { RemoteSettings } from "../config/settings";
import { unlinkQuietly } from "../util/atomic-write";
import type { KeyComponents } from "../wrapper/cache-key";
import { entryTags, type OutputKind, outputKind, type ToolchainTags } from "../wrapper/toolchain-tag";
import { crateListPrefix, type Remote } from "./remote";

/** The output and time are absent from the markers of kache 0.1.0 before they were added. */
const MARKER =
  /\/toolchains\/([0-9a-f]{16})\.([0-9a-f]{16})(?:\.(link|meta|other)(?:\.(\d{1,15}))?)?\/([0-9a-f]{64})$/;

export interface ToolchainMarker {
  compiler: string;
  target: string;
  /** null: a marker from before outputs were named. */
  output: OutputKind | null;
  /**
   * When the uploading machine last used the entry (ms since the epoch): its compile, for the
   * daemon's uploads. A bulk `sync --push` uploads every version of a crate within a second, so the
   * objects' own times cannot say which one that machine built last.
   */
  used: number | null;
  key: string;
}

export function toolchainMarkerKey(
  settings: RemoteSettings,
  crate: string,
  tags: ToolchainTags,
  entry: { output: OutputKind; used: number; key: string },
) {
  const name = `${tags.compiler}.${tags.targets[0]}.${entry.output}.${Math.max(0, Math.round(entry.used))}`;
  return `${crateListPrefix(settings, crate)}toolchains/${name}/${entry.key}`;
}

/** The tags and entry key a marker object names, or null for any other object. */
export function parseToolchainMarker(objectKey: string): ToolchainMarker | null {
  const match = MARKER.exec(objectKey);
  if (!match) return null;
  const output = (match[3] as OutputKind | undefined) ?? null;
  const used = match[4] === undefined ? null : Number(match[4]);
  return { compiler: match[1]!, target: match[2]!, output, used, key: match[5]! };
}

/** Writes the marker of an entry just uploaded. */
export async function putToolchainMarker(
  remote: Remote,
  settings: RemoteSettings,
  entry: { crate: string; key: string; lastUsed: number; components: unknown },
  tempPath: string,
): Promise<void> {
  const components = entry.components as KeyComponents;
  const name = toolchainMarkerKey(settings, entry.crate, entryTags(components), {
    output: outputKind(components),
    used: entry.lastUsed,
    key: entry.key,
  });
  writeFileSync(tempPath, "", { mode: 0o600 });
  try {
    await remote.upload(name, tempPath);
  } finally {
    unlinkQuietly(tempPath);
  }
}

/**
 * Whether the remote holds a marker for `key` in `crate`: an upload whose marker PUT failed left
 * its archive alone, and a later upload that finds the archive writes the missing marker.
 */
export async function hasToolchainMarker(
  remote: Remote,
  settings: RemoteSettings,
  crate: string,
  key: string,
): Promise<boolean> {
  const markers = await remote.list(`${crateListPrefix(settings, crate)}toolchains/`);
  return markers.some((object) => object.key.endsWith(`/${key}`));
}

/** How well an entry suits a build session, best first; `null` never (another compiler built it). */
export type Suitability = 0 | 1 | 2 | null;

/**
 * Per entry key of one crate's listing: 0 this compiler and one of the session's targets, 1 this
 * compiler and another target (a cross target the session has not named), 2 unmarked (uploaded by
 * a kache from before markers), null another compiler.
 */
export function suitability(
  markers: ToolchainMarker[],
  session: ToolchainTags,
): (key: string) => Suitability {
  const byKey = new Map<string, Suitability>();
  for (const marker of markers) {
    const rank: Suitability =
      marker.compiler !== session.compiler ? null : session.targets.includes(marker.target) ? 0 : 1;
    const known = byKey.get(marker.key);
    if (known === undefined || (rank !== null && (known === null || rank < known)))
      byKey.set(marker.key, rank);
  }
  return (key) => {
    const rank = byKey.get(key);
    return rank === undefined ? 2 : rank;
  };
}
