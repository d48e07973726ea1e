// One listing per crate and remote, kept for a minute: a build asks about each crate's input lists
// and entry once or twice, and a key that is not in the listing is a miss without another request.
// A prefetch also asks for the first page of the whole prefix: a bucket that fits in it (S3's 1000
// keys) gives every crate's listing in one request instead of one per crate.
import type { RemoteSettings } from "../config/settings";
import { crateListPrefix, type ListedPage, type Remote, type RemoteObject } from "../remote/remote";

const LISTING_TTL_MS = 60_000;

interface WholeListing {
  at: number;
  /** Null until the page arrives. */
  page: ListedPage | null;
}

/**
 * The objects under `prefix` if the page holds all of them: the whole page, or a truncated one
 * whose last key sorts past every key that starts with `prefix`.
 */
export function coveredBy(page: ListedPage, prefix: string): RemoteObject[] | null {
  const last = page.objects.at(-1)?.key;
  if (!page.complete && (last === undefined || last < prefix || last.startsWith(prefix))) return null;
  return page.objects.filter((object) => object.key.startsWith(prefix));
}

export class CrateListings {
  private readonly listings = new Map<string, { at: number; objects: Promise<RemoteObject[]> }>();
  private whole: WholeListing | null = null;

  /**
   * Asks for the first page of everything under the remote's prefix, once a minute. `get` does not
   * wait for it: crates asked about before it arrives are listed on their own, as are crates it
   * does not cover (a bucket of more than one page). Settles when the page is in, never rejects.
   */
  prime(remote: Remote, settings: RemoteSettings): Promise<void> {
    if (this.whole && Date.now() - this.whole.at < LISTING_TTL_MS) return Promise.resolve();
    const whole: WholeListing = { at: Date.now(), page: null };
    this.whole = whole;
    return remote.listFirstPage(crateListPrefix(settings, null)).then(
      (page) => {
        whole.page = page;
      },
      () => {
        if (this.whole === whole) this.whole = null; // asked again by the next prefetch
      },
    );
  }

  /** The crate's objects, listed at most once a minute; concurrent callers share one request. */
  get(remote: Remote, settings: RemoteSettings, crate: string): Promise<RemoteObject[]> {
    const known = this.listings.get(crate);
    if (known && Date.now() - known.at < LISTING_TTL_MS) return known.objects;
    const prefix = crateListPrefix(settings, crate);
    const whole = this.whole;
    const covered =
      whole?.page && Date.now() - whole.at < LISTING_TTL_MS ? coveredBy(whole.page, prefix) : null;
    if (covered) {
      const objects = Promise.resolve(covered);
      this.listings.set(crate, { at: whole!.at, objects });
      return objects;
    }
    const objects = remote.list(prefix);
    this.listings.set(crate, { at: Date.now(), objects });
    objects.catch(() => this.listings.delete(crate)); // a failed listing is asked again
    return objects;
  }
}
