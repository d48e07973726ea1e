// The daemon's socket protocol: one JSON object per line, each carrying the protocol version.
import type { RemoteSettings } from "../config/settings";
import type { ToolchainTags } from "../wrapper/toolchain-tag";

/** Bump when a request or response changes shape; a daemon answers newer versions with an error. */
export const PROTOCOL_VERSION = 1;

/** A line longer than this closes the connection: no request needs more. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

export const REQUEST_TYPES = [
  "ping",
  "status",
  "stats",
  "shutdown",
  "remote-check",
  "upload",
  "manifests",
  "prefetch",
  "transfers",
] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export interface RequestBase {
  v: number;
  id: number;
  type: RequestType;
  /** The caller's build epoch (its executable's mtime), so the daemon can tell it is outdated. */
  epoch?: number;
}

export type Request =
  | (RequestBase & { type: "ping" | "status" | "stats" | "shutdown" | "transfers" })
  // The remote a build means travels with each request: a daemon started by one build never
  // serves another's bucket.
  | (RequestBase & { type: "remote-check"; key: string; crate: string; remote: RemoteSettings })
  | (RequestBase & { type: "upload"; key: string; crate: string; remote: RemoteSettings })
  | (RequestBase & { type: "manifests"; fingerprint: string; crate: string; remote: RemoteSettings })
  | (RequestBase & {
      type: "prefetch";
      projectDir: string;
      cargo: string;
      remote: RemoteSettings;
      /** The session's compiler and targets (toolchain-tag.ts); absent: take any toolchain's. */
      toolchain?: ToolchainTags;
      /** From a library's call: the session links (cargo build, test, run) or only checks; absent: not known. */
      links?: boolean;
      /** The session asked for its prefetch already: this only says whether it links. */
      onlyTells?: boolean;
    });

export interface DaemonStatus {
  pid: number;
  version: string;
  epoch: number;
  protocol: number;
  startedAt: number;
  uptimeMs: number;
  socket: string;
  cacheDir: string;
  requests: number;
  idleTimeoutSecs: number;
  /** The remotes builds have named, and how each is doing. */
  remotes: RemoteHealthReport[];
}

export interface DaemonStats {
  requests: Record<string, number>;
  remoteChecks: { hits: number; misses: number; errors: number };
  uploads: { queued: number; done: number; failed: number };
  prefetches: number;
}

export interface RemoteHealthReport {
  remote: string;
  queued: number;
  uploadsDone: number;
  downloadsDone: number;
  lastError: string | null;
  /** After failures, until a probe or any request succeeds. */
  paused: boolean;
  /** A request has gone unanswered for seconds, and nothing else answered meanwhile. */
  notAnswering: boolean;
  writable: boolean;
}

/** Why an entry moved: a wrapper's remote check, a workspace prefetch, or the upload queue. */
export type TransferCause = "remote-check" | "prefetch" | "upload";

export interface TransferInFlight {
  direction: "upload" | "download";
  crate: string;
  key: string;
  /** The remote's description (its path, or s3://bucket/prefix). */
  remote: string;
  cause: TransferCause;
  /** ms epoch. */
  startedAt: number;
  /** Archive bytes so far: received for a download; for an upload, the packed size once packed (0 before). */
  bytes: number;
}

export interface TransferRecord {
  direction: "upload" | "download";
  crate: string;
  key: string;
  remote: string;
  cause: TransferCause;
  /** Archive bytes moved (for a failure, as far as it got). */
  bytes: number;
  /** Duration in ms. */
  ms: number;
  /** When it ended, ms epoch. */
  at: number;
  ok: boolean;
  error?: string;
}

export interface DaemonTransfers {
  inFlight: TransferInFlight[];
  /** The newest first; at most the last 200 the daemon finished. */
  recent: TransferRecord[];
  /** Uploads waiting in the queue on disk (every remote). */
  queued: number;
  /** Since the daemon started, over every remote. */
  uploadsDone: number;
  downloadsDone: number;
}

/**
 * Replies: `ok` with a result, or an error with a hint. Slow requests (remote-check) first get an
 * `ack` so a caller can tell a busy daemon from one that accepts and never answers.
 */
export type Response =
  | { v: number; id: number; type: "ack" }
  | { v: number; id: number; ok: true; type: "pong"; epoch: number; version: string; pid: number }
  | { v: number; id: number; ok: true; type: "status"; status: DaemonStatus }
  | { v: number; id: number; ok: true; type: "stats"; stats: DaemonStats }
  | { v: number; id: number; ok: true; type: "shutdown" }
  | { v: number; id: number; ok: true; type: "transfers"; transfers: DaemonTransfers }
  | { v: number; id: number; ok: true; type: "remote-check"; result: "hit" | "miss"; reason?: string }
  /** `added`: how many of the fingerprint's remote input lists the index holds now (a wrapper then looks again). */
  | { v: number; id: number; ok: true; type: "manifests"; added: number }
  | { v: number; id: number; ok: true; type: "upload" | "prefetch"; queued: boolean; reason?: string }
  | { v: number; id: number; ok: false; error: string; hint?: string };

export function encode(message: Request | Response): string {
  return `${JSON.stringify(message)}\n`;
}
