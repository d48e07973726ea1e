// The upload queue on disk: `<cache>/uploads/<key>.json`, one file per stored entry that still has
// to reach the remote. The wrapper writes it (whether or not a daemon runs); the daemon uploads and
// removes it. Work accepted before a crash, an outage or a build without a daemon is never lost.
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RemoteSettings } from "../config/settings";
import { atomicWrite, unlinkQuietly } from "../util/atomic-write";

export interface UploadItem {
  key: string;
  crate: string;
  remote: RemoteSettings;
  /** The call's direct-mode fingerprint: its input lists travel with the entry. */
  fingerprint: string | null;
  queuedAt: number;
}

const ITEM = /^([0-9a-f]{64})\.json$/;

export function uploadQueueDir(cacheDir: string): string {
  return join(cacheDir, "uploads");
}

export function queueUpload(cacheDir: string, item: Omit<UploadItem, "queuedAt">): void {
  const dir = uploadQueueDir(cacheDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Owner-only: the remote settings may carry explicit credentials.
  atomicWrite(join(dir, `${item.key}.json`), JSON.stringify({ ...item, queuedAt: Date.now() }), {
    mode: 0o600,
  });
}

/** The queued items, oldest first; unreadable files are dropped. */
export function queuedUploads(cacheDir: string): UploadItem[] {
  const dir = uploadQueueDir(cacheDir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => ITEM.test(name));
  } catch {
    return [];
  }
  const items: UploadItem[] = [];
  for (const name of names) {
    try {
      const item = JSON.parse(readFileSync(join(dir, name), "utf8")) as UploadItem;
      if (item.key === ITEM.exec(name)![1] && typeof item.crate === "string" && item.remote) items.push(item);
      else unlinkQuietly(join(dir, name));
    } catch {
      unlinkQuietly(join(dir, name));
    }
  }
  return items.sort((a, b) => a.queuedAt - b.queuedAt);
}

/** How many items are queued, from the names alone: cheap enough to ask every second. */
export function queuedUploadCount(cacheDir: string): number {
  try {
    return readdirSync(uploadQueueDir(cacheDir)).filter((name) => ITEM.test(name)).length;
  } catch {
    return 0;
  }
}

export function dropUpload(cacheDir: string, key: string): void {
  unlinkQuietly(join(uploadQueueDir(cacheDir), `${key}.json`));
}
