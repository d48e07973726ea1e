// Toolchain markers: an empty object `{prefix}/{crate}/toolchains/{compiler}.{target}/{key}` next
// to each entry, naming the compiler and target that built it. A crate's listing (one request)
// then tells a prefetch which entries this machine can use, without opening any archive.
import { writeFileSync } from "node:fs";
import type { RemoteSettings } from "../config/settings";
import { unlinkQuietly } from "../util/atomic-write";
import type { KeyComponents } from "../wrapper/cache-key";
import { entryTags, type ToolchainTags } from "../wrapper/toolchain-tag";
import { crateListPrefix, type Remote } from "./remote";

const MARKER = /\/toolchains\/([0-9a-f]{16})\.([0-9a-f]{16})\/([0-9a-f]{64})$/;

export function toolchainMarkerKey(
  settings: RemoteSettings,
  crate: string,
  tags: ToolchainTags,
  key: string,
) {
  return `${crateListPrefix(settings, crate)}toolchains/${tags.compiler}.${tags.targets[0]}/${key}`;
}

/** The tags and entry key a marker object names, or null for any other object. */
export function parseToolchainMarker(
  objectKey: string,
): { compiler: string; target: string; key: string } | null {
  const match = MARKER.exec(objectKey);
  return match ? { compiler: match[1]!, target: match[2]!, key: match[3]! } : null;
}

/** Writes the marker of an entry just uploaded. */
export async function putToolchainMarker(
  remote: Remote,
  settings: RemoteSettings,
  entry: { crate: string; key: string; components: unknown },
  tempPath: string,
): Promise<void> {
  const tags = entryTags(entry.components as KeyComponents);
  writeFileSync(tempPath, "", { mode: 0o600 });
  try {
    await remote.upload(toolchainMarkerKey(settings, entry.crate, tags, entry.key), tempPath);
  } finally {
    unlinkQuietly(tempPath);
  }
}

/** How well an entry suits a build session, best first; `null` never (another compiler built it). */
export type Suitability = 0 | 1 | 2 | null;

/**
 * Per entry key of one crate's listing: 0 this compiler and one of the session's targets, 1 this
 * compiler and another target (a cross target the session has not named), 2 unmarked (uploaded by
 * a kache from before markers), null another compiler.
 */
export function suitability(
  markers: { compiler: string; target: string; key: string }[],
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
