// Direct-mode input lists in the remote: `{prefix}/{crate}/manifests/{fingerprint}/{list hash}.json`.
// A fresh machine with a warm bucket fetches the lists of a call's fingerprint, checks them against
// its own files like any recorded list, and knows the key without a dep-info pre-pass.
import { writeFileSync } from "node:fs";
import type { RemoteSettings } from "../config/settings";
import type { IndexDb } from "../store/index-db";
import { unlinkQuietly } from "../util/atomic-write";
import { hashBytes } from "../util/hash";
import { MANIFESTS_PER_FINGERPRINT } from "../wrapper/direct-mode";
import { crateListPrefix, type Remote, RemoteError } from "./remote";

const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

export function manifestListPrefix(settings: RemoteSettings, crate: string, fingerprint: string): string {
  return `${crateListPrefix(settings, crate)}manifests/${fingerprint}/`;
}

export function manifestObjectKey(
  settings: RemoteSettings,
  crate: string,
  fingerprint: string,
  text: string,
): string {
  return `${manifestListPrefix(settings, crate, fingerprint)}${hashBytes(text)}.json`;
}

/** The fingerprint a manifest object belongs to, or null for any other object. */
export function parseManifestObjectKey(objectKey: string): { fingerprint: string; hash: string } | null {
  const match = /\/manifests\/([0-9a-f]{64})\/([0-9a-f]{64})\.json$/.exec(objectKey);
  return match && HEX64.test(match[1]!) ? { fingerprint: match[1]!, hash: match[2]! } : null;
}

/** Whether the index has the list an object holds: its name is its text's hash, so no download tells more. */
export function manifestIsLocal(index: IndexDb, list: { fingerprint: string; hash: string }): boolean {
  return index
    .getManifests(list.fingerprint, MANIFESTS_PER_FINGERPRINT)
    .some((text) => hashBytes(text) === list.hash);
}

/** The shape of a recorded input list; anything else from the bucket is dropped. */
export function isManifestText(text: string): boolean {
  try {
    const value = JSON.parse(text);
    const pairs = (list: unknown) =>
      Array.isArray(list) &&
      list.every((item) => typeof item?.path === "string" && typeof item?.hash === "string");
    return (
      pairs(value?.sources) &&
      Array.isArray(value?.envDeps) &&
      value.envDeps.every(
        (pair: unknown) =>
          Array.isArray(pair) && pair.length === 2 && pair.every((part) => typeof part === "string"),
      ) &&
      (value.links === undefined || pairs(value.links))
    );
  } catch {
    return false;
  }
}

/** Uploads the local lists of a fingerprint the remote lacks; how many it sent. */
export async function pushManifests(
  remote: Remote,
  settings: RemoteSettings,
  crate: string,
  fingerprint: string,
  index: IndexDb,
  tempPath: string,
): Promise<number> {
  let sent = 0;
  for (const text of index.getManifests(fingerprint, MANIFESTS_PER_FINGERPRINT)) {
    const key = manifestObjectKey(settings, crate, fingerprint, text);
    if ((await remote.head(key)) !== null) continue;
    writeFileSync(tempPath, text, { mode: 0o600 });
    try {
      await remote.upload(key, tempPath);
      sent += 1;
    } finally {
      unlinkQuietly(tempPath);
    }
  }
  return sent;
}

/**
 * A small object's bytes, or null when there is none. Read into memory: a temp file per list cost
 * an inode made and freed at once, and on ext4 every later file the pull creates pays for skipping
 * recently freed inodes.
 */
async function readSmallObject(remote: Remote, objectKey: string, maxBytes: number): Promise<Buffer | null> {
  const body = await remote.read(objectKey, maxBytes);
  if (!body) return null;
  const pieces: Uint8Array[] = [];
  let size = 0;
  for await (const piece of body) {
    size += piece.length;
    if (size > maxBytes) throw new RemoteError("transient", `${objectKey} is larger than ${maxBytes} bytes`);
    pieces.push(piece);
  }
  return Buffer.concat(pieces);
}

/** Downloads one manifest object into the index; false when it is gone or not a list. */
export async function pullManifestObject(
  remote: Remote,
  objectKey: string,
  fingerprint: string,
  index: IndexDb,
): Promise<boolean> {
  const bytes = await readSmallObject(remote, objectKey, MANIFEST_MAX_BYTES);
  if (!bytes) return false;
  const text = bytes.toString("utf8");
  if (!isManifestText(text) || !objectKey.endsWith(`/${hashBytes(text)}.json`)) return false;
  index.putManifest(fingerprint, text, MANIFESTS_PER_FINGERPRINT);
  return true;
}

/**
 * Brings a fingerprint's listed input lists into the index, at most as many as it keeps, without
 * downloading those it has; how many of them it holds now. Those it had count: a prefetch may have
 * brought one since the caller looked.
 */
export async function pullManifestLists(
  remote: Remote,
  lists: { key: string }[],
  fingerprint: string,
  index: IndexDb,
): Promise<number> {
  let held = 0;
  for (const list of lists.slice(-MANIFESTS_PER_FINGERPRINT)) {
    const named = parseManifestObjectKey(list.key);
    if (
      (named && manifestIsLocal(index, named)) ||
      (await pullManifestObject(remote, list.key, fingerprint, index))
    )
      held += 1;
  }
  return held;
}
