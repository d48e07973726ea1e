// What the daemon keeps per remote a build names: its backend, what it lately lacked, downloads
// under way, its health and its counters.
import type { RemoteSettings } from "../config/settings";
import { crateListPrefix, describeRemote, openRemote, type Remote } from "../remote/remote";
import { CrateListings } from "./crate-listings";
import { type HealthLog, RemoteHealth, watchedRemote } from "./remote-health";

export interface RemoteState {
  settings: RemoteSettings;
  /** The backend, its requests timed by `health`. */
  remote: Promise<Remote>;
  description: string;
  misses: Map<string, number>;
  downloads: Map<string, Promise<"hit" | "miss">>;
  /** Fingerprints whose lists were fetched lately, and the fetches under way. */
  manifestsFetched: Map<string, number>;
  manifestFetches: Map<string, Promise<number>>;
  listings: CrateListings;
  /** Rejected objects being fetched again: true once confirmed damaged where stored (storedDamage). */
  damaged: Map<string, Promise<boolean>>;
  health: RemoteHealth;
  uploadsDone: number;
  downloadsDone: number;
}

/**
 * A fresh state; the backend starts loading now, its failure surfaces on first use. `back` is
 * called when the remote answers again after a pause.
 */
export function newRemoteState(settings: RemoteSettings, log: HealthLog, back: () => void): RemoteState {
  const description = describeRemote(settings);
  let remote: Promise<Remote> | null = null;
  // The probe asks for an object that is never written: "not there" is an answer.
  const probe = async () => (await remote!).head(`${crateListPrefix(settings, null)}kache-probe`);
  const health = new RemoteHealth(description, log, { probe, back });
  remote = openRemote(settings).then((backend) => watchedRemote(backend, health));
  remote.catch(() => {});
  return {
    settings,
    remote,
    description,
    misses: new Map(),
    downloads: new Map(),
    manifestsFetched: new Map(),
    manifestFetches: new Map(),
    listings: new CrateListings(),
    damaged: new Map(),
    health,
    uploadsDone: 0,
    downloadsDone: 0,
  };
}
