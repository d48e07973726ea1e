// One listing per crate and remote, kept for a minute: a build asks about each crate's input lists
// and entry once or twice, and a key that is not in the listing is a miss without another request.
import type { RemoteSettings } from "../config/settings";
import { crateListPrefix, type Remote, type RemoteObject } from "../remote/remote";

const LISTING_TTL_MS = 60_000;

export class CrateListings {
  private readonly listings = new Map<string, { at: number; objects: Promise<RemoteObject[]> }>();

  /** The crate's objects, listed at most once a minute; concurrent callers share one request. */
  get(remote: Remote, settings: RemoteSettings, crate: string): Promise<RemoteObject[]> {
    const known = this.listings.get(crate);
    if (known && Date.now() - known.at < LISTING_TTL_MS) return known.objects;
    const objects = remote.list(crateListPrefix(settings, crate));
    this.listings.set(crate, { at: Date.now(), objects });
    objects.catch(() => this.listings.delete(crate)); // a failed listing is asked again
    return objects;
  }
}
