// The remote cache behind one small interface: objects moved to and from local files or streamed,
// so neither backend holds an entry in memory. Backends: S3 (s3-remote.ts) and a shared directory
// (filesystem-remote.ts). Neither is ever imported on the wrapper's path.
import type { RemoteSettings } from "../config/settings";

/**
 * - `denied`: the remote refuses this operation (403): a read-only bucket refusing a PUT.
 * - `config`: the settings cannot work (no such bucket, bad credentials): no retry helps.
 * - `transient`: the network, a timeout, a 5xx or throttling: worth retrying later.
 */
export type RemoteErrorKind = "denied" | "config" | "transient";

export class RemoteError extends Error {
  constructor(
    readonly kind: RemoteErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A 403 to a read: wrong credentials, or a policy without s3:ListBucket (AWS then answers a
 * missing key with 403). A configuration error, never a read-only bucket's refused write.
 */
export function readsRefused(error: RemoteError): RemoteError {
  return new RemoteError(
    "config",
    `${error.message}; reads are refused too, so check the credentials and that the policy allows s3:GetObject, s3:PutObject and s3:ListBucket`,
  );
}

export interface RemoteObject {
  key: string;
  size: number;
  /** Last write, ms since the epoch. */
  modified: number;
}

export interface ListedPage {
  /** Sorted by key. */
  objects: RemoteObject[];
  complete: boolean;
}

export interface Remote {
  /** Where it points, for logs and status: `s3://bucket/prefix` or the directory. */
  readonly description: string;
  /** Downloads `key` into `destination`; false when there is no such object. Refuses more than `maxBytes`. */
  download(key: string, destination: string, maxBytes: number): Promise<boolean>;
  /**
   * The object's bytes as they arrive, or null when there is no such object. Refuses more than
   * `maxBytes`; a failure while reading is a RemoteError.
   */
  read(key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null>;
  upload(key: string, source: string): Promise<void>;
  /** The object's size, or null when it does not exist. */
  head(key: string): Promise<number | null>;
  /**
   * Every object under `prefix` (a "directory": ends with `/`), sorted by key. `onPage` hears of
   * each page as it arrives (a long listing is a remote answering, not one that hangs).
   */
  list(prefix: string, onPage?: () => void): Promise<RemoteObject[]>;
  /**
   * One request's worth of `list`: the first page (S3's 1000 keys), and whether it was all. A
   * backend whose listings cost no request answers an empty page that is not complete.
   */
  listFirstPage(prefix: string): Promise<ListedPage>;
  delete(key: string): Promise<void>;
}

/** A crate name as it may appear in an object key (cargo's names are already this). */
const SAFE_PART = /^[A-Za-z0-9_.-]+$/;

function prefixOf(settings: RemoteSettings): string {
  return settings.prefix.replace(/^\/+|\/+$/g, "");
}

/** `{prefix}/{crate}/{key}.tar.zst` (SPEC §8). */
export function entryObjectKey(settings: RemoteSettings, crate: string, key: string): string {
  if (!SAFE_PART.test(crate) || !SAFE_PART.test(key))
    throw new RemoteError("config", `not an object name: ${crate}/${key}`);
  const prefix = prefixOf(settings);
  return `${prefix ? `${prefix}/` : ""}${crate}/${key}.tar.zst`;
}

/** The key and crate of an entry object, or null for any other object. */
export function parseEntryObjectKey(
  settings: RemoteSettings,
  objectKey: string,
): { crate: string; key: string } | null {
  const prefix = prefixOf(settings);
  const rest = prefix
    ? objectKey.startsWith(`${prefix}/`)
      ? objectKey.slice(prefix.length + 1)
      : null
    : objectKey;
  const match = rest === null ? null : /^([A-Za-z0-9_.-]+)\/([0-9a-f]{64})\.tar\.zst$/.exec(rest);
  return match ? { crate: match[1]!, key: match[2]! } : null;
}

/** The listing prefix of one crate's entries, or of every entry with `crate` null. */
export function crateListPrefix(settings: RemoteSettings, crate: string | null): string {
  const prefix = prefixOf(settings);
  return `${prefix ? `${prefix}/` : ""}${crate === null ? "" : `${crate}/`}`;
}

/** Where a remote points, for logs and status: the directory, or `s3://bucket/prefix` (and its endpoint). */
export function describeRemote(settings: RemoteSettings): string {
  if (settings.type === "filesystem") return settings.path ?? "";
  return `s3://${settings.bucket}/${settings.prefix}${settings.endpoint ? ` at ${settings.endpoint}` : ""}`;
}

/** Builds the configured backend; loads the AWS SDK only for S3. */
export async function openRemote(settings: RemoteSettings): Promise<Remote> {
  if (settings.type === "filesystem") {
    if (!settings.path)
      throw new RemoteError("config", "cache.remote.type is filesystem but cache.remote.path is not set");
    const { FilesystemRemote } = await import("./filesystem-remote");
    return new FilesystemRemote(settings.path);
  }
  if (!settings.bucket)
    throw new RemoteError("config", "no bucket: set KACHE_S3_BUCKET or cache.remote.bucket");
  const { S3Remote } = await import("./s3-remote");
  return new S3Remote(settings);
}

/** Which remote a request means: equal settings, same remote (the secret is part of it, never shown). */
export function remoteIdentity(settings: RemoteSettings): string {
  const { type, path, bucket, endpoint, region, prefix, profile, accessKey, secretKey } = settings;
  return JSON.stringify([
    type,
    path ?? "",
    bucket ?? "",
    endpoint ?? "",
    region,
    prefix,
    profile ?? "",
    accessKey ?? "",
    secretKey ?? "",
  ]);
}
