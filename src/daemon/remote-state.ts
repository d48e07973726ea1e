// What the daemon keeps per remote a build names: its backend, what it lately lacked, downloads
// under way, its health and its counters.
import type { RemoteSettings } from "../config/settings";
import { openRemote, type Remote } from "../remote/remote";
import { CrateListings } from "./crate-listings";

export interface RemoteState {
  settings: RemoteSettings;
  remote: Promise<Remote>;
  description: string;
  misses: Map<string, number>;
  downloads: Map<string, Promise<"hit" | "miss">>;
  /** Fingerprints whose lists were fetched lately, and the fetches under way. */
  manifestsFetched: Map<string, number>;
  manifestFetches: Map<string, Promise<number>>;
  listings: CrateListings;
  consecutiveFailures: number;
  pausedUntil: number;
  /** A 403 on a PUT: pulls go on, uploads stop (and are dropped), said once. */
  writesRefused: boolean;
  configError: string | null;
  lastError: string | null;
  uploadsDone: number;
  downloadsDone: number;
}

/** A fresh state; the backend starts loading now, its failure surfaces on first use. */
export function newRemoteState(settings: RemoteSettings): RemoteState {
  const remote = openRemote(settings);
  remote.catch(() => {});
  return {
    settings,
    remote,
    description:
      settings.type === "filesystem" ? (settings.path ?? "") : `s3://${settings.bucket}/${settings.prefix}`,
    misses: new Map(),
    downloads: new Map(),
    manifestsFetched: new Map(),
    manifestFetches: new Map(),
    listings: new CrateListings(),
    consecutiveFailures: 0,
    pausedUntil: 0,
    writesRefused: false,
    configError: null,
    lastError: null,
    uploadsDone: 0,
    downloadsDone: 0,
  };
}

/**
 * What a configuration error is about, said once however many objects meet it: its message starts
 * with the object ("looking up <key>: "), the cause follows.
 */
export function configCause(message: string): string {
  return message.slice(message.indexOf(": ") + 2);
}
