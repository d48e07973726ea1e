// How one remote is doing as the daemon sees it, and so whether to ask it anything now:
// - a few transient failures in a row pause it; once the pause is over, one small request (the
//   probe) goes out and nothing else until it answers: the remote is back, or paused again;
// - a configuration error pauses it the same way, said once per cause;
// - a remote that leaves its requests unanswered (a dropped route, a firewall that discards
//   packets) is "not answering" once one has waited STALL_MS with no answer to any: wrappers are
//   then told a miss at once, instead of each waiting its whole check_timeout, until one answers.
import type { ListedPage, Remote, RemoteObject } from "../remote/remote";
import { RemoteError, readsRefused } from "../remote/remote";
import { describeError } from "../util/errors";

/** Consecutive transient failures before the remote is paused and then probed once. */
export const FAILURES_BEFORE_PAUSE = 3;
export const PAUSE_MS = 10_000;
/** How long a request may go unanswered, with no other answering meanwhile, before the remote is "not answering". */
export const STALL_MS = 2_000;
/** How long a remote that refused a write is not written to before an upload tries again. */
export const WRITES_RETRY_MS = 10 * 60_000;

export interface HealthLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface HealthHooks {
  /** The probe: one cheap request; resolves when the remote answered it. */
  probe(): Promise<unknown>;
  /** Called when a paused remote answers again (the upload queue moves on). */
  back(): void;
}

/**
 * What a configuration error is about, said once however many objects and requests meet it: its
 * message starts with the object ("looking up <key>: "), then what the remote said (which differs
 * between a HEAD and a listing), then the hint, which names the cause when there is one.
 */
export function configCause(message: string): string {
  const hint = message.lastIndexOf("; ");
  return hint >= 0 ? message.slice(hint + 2) : message.slice(message.indexOf(": ") + 2);
}

export class RemoteHealth {
  /** When a PUT last got a 403, while writes count as refused; said once. */
  private writesRefusedAt: number | null = null;
  private refusalSaid = false;
  lastError: string | null = null;
  private consecutiveFailures = 0;
  private configError: string | null = null;
  private pausedUntil = 0;
  private probing = false;
  /** Requests waiting for their answer: id → when sent (oldest first). */
  private readonly asking = new Map<number, number>();
  private requests = 0;
  private lastAnswerAt = 0;

  constructor(
    private readonly description: string,
    private readonly log: HealthLog,
    private readonly hooks: HealthHooks,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A PUT got a 403 lately: uploads stop and are dropped, as for a read-only remote, while pulls go
   * on. A policy fixed later is found by the first upload once WRITES_RETRY_MS have passed.
   */
  writesRefused(): boolean {
    return this.writesRefusedAt !== null && this.now() - this.writesRefusedAt < WRITES_RETRY_MS;
  }

  /** An upload went through: writes work. */
  wrote(): void {
    this.writesRefusedAt = null;
  }

  /** Paused after failures or a configuration error, until a probe (or any request) succeeds. */
  paused(): boolean {
    return this.consecutiveFailures >= FAILURES_BEFORE_PAUSE || this.configError !== null;
  }

  /** A request has waited STALL_MS, and nothing has answered for as long. */
  notAnswering(): boolean {
    const now = this.now();
    if (now - this.lastAnswerAt < STALL_MS) return false;
    const oldest = this.asking.values().next();
    return !oldest.done && now - oldest.value >= STALL_MS;
  }

  /** Whether to ask the remote now. The first caller after a pause starts the probe, and is told no too. */
  usable(): boolean {
    if (this.notAnswering()) return false;
    if (!this.paused()) return true;
    if (this.probing || this.now() < this.pausedUntil) return false;
    this.probing = true;
    void this.hooks.probe().then(
      () => {
        this.probing = false;
        this.succeeded();
      },
      (error) => {
        this.probing = false;
        this.failed(error, false);
      },
    );
    return false;
  }

  /** Records a failure; its kind decides whether to retry, pause or give up on writes. */
  failed(failure: unknown, writing: boolean): void {
    const denied = failure instanceof RemoteError && failure.kind === "denied";
    const error = denied && !writing ? readsRefused(failure) : failure;
    const message = describeError(error);
    this.lastError = message;
    if (denied && writing) {
      if (!this.refusalSaid)
        this.log.warn(
          `${this.description} refuses writes (${message}); uploads to it stop, pulls go on, and an upload tries again every ${WRITES_RETRY_MS / 60_000} minutes (set cache.remote.read_only = true to say so)`,
        );
      this.refusalSaid = true;
      this.writesRefusedAt = this.now();
      return;
    }
    if (error instanceof RemoteError && error.kind === "config") {
      const cause = configCause(message);
      if (this.configError !== cause) this.log.warn(`${this.description}: ${message}`);
      this.configError = cause;
      this.pausedUntil = this.now() + PAUSE_MS;
      return;
    }
    this.consecutiveFailures += 1;
    if (this.consecutiveFailures === FAILURES_BEFORE_PAUSE)
      this.log.warn(
        `${this.description} failed ${FAILURES_BEFORE_PAUSE} times in a row (${message}); pausing ${PAUSE_MS / 1000}s, then one probe`,
      );
    if (this.consecutiveFailures >= FAILURES_BEFORE_PAUSE) this.pausedUntil = this.now() + PAUSE_MS;
  }

  succeeded(): void {
    const wasPaused = this.paused();
    this.consecutiveFailures = 0;
    this.configError = null;
    this.pausedUntil = 0;
    if (!wasPaused) return;
    this.log.info(`${this.description} answers again`);
    this.hooks.back();
  }

  /** The remote said something: a response, a page of a listing. */
  heard(): void {
    this.lastAnswerAt = this.now();
  }

  /**
   * Counts `request` as waiting for the remote's answer until it settles. A failure the remote did
   * not say (a timeout, a connection lost: transient) is no answer.
   */
  timed<T>(request: Promise<T>): Promise<T> {
    const id = ++this.requests;
    this.asking.set(id, this.now());
    request.then(
      () => {
        this.asking.delete(id);
        this.heard();
      },
      (error) => {
        this.asking.delete(id);
        if (!(error instanceof RemoteError) || error.kind !== "transient") this.heard();
      },
    );
    return request;
  }
}

/**
 * `remote` with its requests timed by `health`: those that get a quick answer when the remote is
 * there (a HEAD, a listing page by page, a read until its body starts). Whole downloads and uploads
 * are left out: a big one takes as long as the link needs.
 */
export function watchedRemote(remote: Remote, health: RemoteHealth): Remote {
  return {
    description: remote.description,
    download: (key: string, destination: string, maxBytes: number) =>
      remote.download(key, destination, maxBytes),
    read: (key: string, maxBytes: number) => health.timed(remote.read(key, maxBytes)),
    upload: (key: string, source: string) => remote.upload(key, source),
    head: (key: string) => health.timed(remote.head(key)),
    list: (prefix: string): Promise<RemoteObject[]> =>
      health.timed(remote.list(prefix, () => health.heard())),
    listFirstPage: (prefix: string): Promise<ListedPage> => health.timed(remote.listFirstPage(prefix)),
    delete: (key: string) => remote.delete(key),
  };
}
