// The S3 backend (AWS S3, R2, MinIO, Ceph...) on @aws-sdk/client-s3, loaded only by the daemon and
// the CLI. Bodies stream from and to files; a download is cut off past its size cap. On a custom
// endpoint, reads and listings go through Bun's native client (see NativeReads).

import { createReadStream, createWriteStream, statSync } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { RemoteSettings } from "../config/settings";
import { unlinkQuietly } from "../util/atomic-write";
import { withinMs } from "../util/within";
import { describeRemote, type ListedPage, type Remote, RemoteError, type RemoteObject } from "./remote";

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const CONFIG_ERRORS = new Set([
  "NoSuchBucket",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "InvalidBucketName",
  "CredentialsProviderError",
  "AuthorizationHeaderMalformed",
  "PermanentRedirect",
]);

function status(error: unknown): number | undefined {
  return (error as SdkError)?.$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as SdkError)?.name;
  if (name === "NoSuchBucket") return false;
  return status(error) === 404 || name === "NoSuchKey" || name === "NotFound";
}

const STATUS_NAMES: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  500: "InternalError",
  502: "BadGateway",
  503: "ServiceUnavailable",
  504: "GatewayTimeout",
};

/** What kind of failure an SDK error is; the hint names what to check. */
export function classifyS3Error(error: unknown, what: string): RemoteError {
  const sdk = (error ?? {}) as SdkError;
  const code = status(error);
  // A HEAD's error has no body to name it: the SDK says "Unknown", the status says more.
  const unnamed = !sdk.name || sdk.name === "Unknown" || sdk.name === "UnknownError";
  const name = unnamed && code ? (STATUS_NAMES[code] ?? "Error") : (sdk.name ?? sdk.code ?? "Error");
  const detail =
    sdk.message && sdk.message !== name && sdk.message !== "UnknownError" ? `: ${sdk.message}` : "";
  const message = `${what}: ${name}${code ? ` (HTTP ${code})` : ""}${detail}`;
  if (CONFIG_ERRORS.has(name))
    return new RemoteError("config", `${message}; check the bucket, region and credentials`);
  if (code === 403 || name === "AccessDenied") return new RemoteError("denied", message);
  if (code === 400 || code === 401 || code === 301) return new RemoteError("config", message);
  return new RemoteError("transient", message);
}

/** Counts the bytes of a body on its way to disk, and stops it past the cap. */
async function* capped(
  body: AsyncIterable<Uint8Array>,
  maxBytes: number,
  key: string,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) throw new RemoteError("transient", `${key} is larger than ${maxBytes} bytes`);
    yield chunk;
  }
}

/** A connection lost mid-body is worth retrying later: never mistaken for a bad object. */
async function* failuresAsTransient(
  body: AsyncIterable<Uint8Array>,
  what: string,
): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    if (error instanceof RemoteError) throw error;
    throw new RemoteError("transient", `${what}: ${(error as Error)?.message ?? error}`);
  }
}

/** A body that ends before its promised length lost its connection: retried later, never "bad". */
async function* whole(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  length: number,
  what: string,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    yield chunk;
  }
  if (Number.isFinite(length) && total !== length)
    throw new RemoteError("transient", `${what}: the body ended after ${total} of ${length} bytes`);
}

/** `<Code>…</Code>` of an S3 error document. */
function errorCode(xml: string): string | undefined {
  return /<Code>([^<]{1,100})<\/Code>/.exec(xml)?.[1];
}

interface ListingPage {
  objects: RemoteObject[];
  next: string | undefined;
}

/**
 * A connection that moves no byte for this long is dead: the request fails as transient, and the
 * daemon's queue and prefetch go on. Without it, Bun's fetch waits 5 minutes and the SDK forever.
 */
const IDLE_TIMEOUT_MS = 30_000;

function sortedByKey(objects: RemoteObject[]): RemoteObject[] {
  return objects.sort((x, y) => (x.key < y.key ? -1 : 1));
}

/**
 * GET and LIST through Bun's native S3 client: per request the SDK spends about 3 ms of CPU in its
 * middleware and its XML parsing in JavaScript, Bun's client well under 1 ms, and a fresh machine's
 * build makes over a hundred of these. Custom endpoints only, where the SDK is set to path-style
 * addressing too; AWS itself (virtual hosts, region redirects) stays with the SDK. Credentials
 * still come from the SDK's provider chain, so both clients sign as the same identity.
 */
class NativeReads {
  private identity: unknown = null;
  private native: Bun.S3Client | null = null;

  constructor(
    private readonly sdk: S3Client,
    private readonly endpoint: string,
    private readonly bucket: string,
    private readonly region: string,
    private readonly idleTimeoutMs: number,
  ) {}

  private async client(): Promise<Bun.S3Client> {
    let identity: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    try {
      identity = await this.sdk.config.credentials();
    } catch (error) {
      throw classifyS3Error(error, "finding credentials");
    }
    // The provider returns the same object until the credentials are refreshed.
    if (identity !== this.identity || !this.native) {
      this.native = new Bun.S3Client({
        endpoint: this.endpoint,
        bucket: this.bucket,
        region: this.region,
        accessKeyId: identity.accessKeyId,
        secretAccessKey: identity.secretAccessKey,
        ...(identity.sessionToken ? { sessionToken: identity.sessionToken } : {}),
      });
      this.identity = identity;
    }
    return this.native;
  }

  async read(key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null> {
    const what = `downloading ${key}`;
    const url = (await this.client()).presign(key, { method: "GET", expiresIn: 900 });
    let response: Response;
    try {
      response = await fetch(url, { timeout: this.idleTimeoutMs });
    } catch (error) {
      throw new RemoteError("transient", `${what}: ${(error as Error)?.message ?? error}`);
    }
    if (!response.ok) {
      const code = errorCode(await response.text().catch(() => ""));
      const error = { name: code, $metadata: { httpStatusCode: response.status } };
      if (isNotFound(error)) return null;
      throw classifyS3Error(error, what);
    }
    const length = Number(response.headers.get("content-length") ?? Number.NaN);
    if (length > maxBytes) {
      await response.body?.cancel();
      throw new RemoteError("transient", `${key} is ${length} bytes, over ${maxBytes}`);
    }
    if (!response.body) return whole([], length, what);
    return failuresAsTransient(whole(capped(response.body, maxBytes, key), length, what), what);
  }

  /** One page of a listing, and the token of the next one (undefined after the last). */
  async page(prefix: string, token?: string): Promise<ListingPage> {
    const client = await this.client();
    try {
      // Bun's client takes no timeout or signal: a page (at most 1000 keys, well under a megabyte)
      // that has not arrived whole within the idle timeout counts as a dead connection.
      const page = await withinMs(
        client.list({ prefix, ...(token ? { continuationToken: token } : {}) }),
        this.idleTimeoutMs,
      );
      return {
        objects: (page.contents ?? []).map((item) => ({
          key: item.key,
          size: item.size ?? 0,
          modified: item.lastModified ? new Date(item.lastModified).getTime() : 0,
        })),
        next: page.isTruncated ? page.nextContinuationToken : undefined,
      };
    } catch (error) {
      // Bun's S3Error carries the S3 code (NoSuchBucket, AccessDenied...), not the HTTP status.
      const code = (error as { code?: string })?.code;
      throw classifyS3Error({ name: code, message: (error as Error)?.message }, `listing ${prefix}`);
    }
  }
}

export class S3Remote implements Remote {
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly native: NativeReads | null;

  /** `nativeReads: false` keeps reads on the SDK on a custom endpoint too (tests cover both paths). */
  constructor(
    settings: RemoteSettings,
    {
      nativeReads = true,
      idleTimeoutMs = IDLE_TIMEOUT_MS,
    }: { nativeReads?: boolean; idleTimeoutMs?: number } = {},
  ) {
    this.bucket = settings.bucket!;
    this.description = describeRemote(settings);
    const custom = Boolean(settings.endpoint);
    const credentials =
      settings.accessKey && settings.secretKey
        ? { accessKeyId: settings.accessKey, secretAccessKey: settings.secretKey }
        : undefined;
    this.client = new S3Client({
      region: settings.region,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      // R2, MinIO and Ceph want path-style addressing, and the SDK's default request checksums
      // (aws-chunked uploads) corrupt objects on some of them: only what the server requires.
      forcePathStyle: custom,
      requestChecksumCalculation: custom ? "WHEN_REQUIRED" : "WHEN_SUPPORTED",
      responseChecksumValidation: custom ? "WHEN_REQUIRED" : "WHEN_SUPPORTED",
      ...(credentials ? { credentials } : settings.profile ? { profile: settings.profile } : {}),
      maxAttempts: 2,
      requestHandler: { connectionTimeout: idleTimeoutMs, socketTimeout: idleTimeoutMs },
    });
    this.native =
      settings.endpoint && nativeReads
        ? new NativeReads(this.client, settings.endpoint, this.bucket, settings.region, idleTimeoutMs)
        : null;
  }

  async download(key: string, destination: string, maxBytes: number): Promise<boolean> {
    const body = await this.read(key, maxBytes);
    if (!body) return false;
    try {
      await pipeline(body, createWriteStream(destination, { mode: 0o600 }));
      return true;
    } catch (error) {
      unlinkQuietly(destination);
      throw error instanceof RemoteError
        ? error
        : new RemoteError("transient", `downloading ${key}: ${(error as Error)?.message ?? error}`);
    }
  }

  async read(key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null> {
    if (this.native) return this.native.read(key, maxBytes);
    let body: Readable;
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if ((response.ContentLength ?? 0) > maxBytes)
        throw new RemoteError("transient", `${key} is ${response.ContentLength} bytes, over ${maxBytes}`);
      body = response.Body as Readable;
    } catch (error) {
      if (error instanceof RemoteError) throw error;
      if (isNotFound(error)) return null;
      throw classifyS3Error(error, `downloading ${key}`);
    }
    return failuresAsTransient(capped(body, maxBytes, key), `downloading ${key}`);
  }

  async upload(key: string, source: string): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: createReadStream(source),
          ContentLength: statSync(source).size,
          ContentType: "application/zstd",
        }),
      );
    } catch (error) {
      throw classifyS3Error(error, `uploading ${key}`);
    }
  }

  async head(key: string): Promise<number | null> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return response.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw classifyS3Error(error, `looking up ${key}`);
    }
  }

  private async page(prefix: string, token?: string): Promise<ListingPage> {
    if (this.native) return this.native.page(prefix, token);
    try {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      return {
        objects: (page.Contents ?? []).flatMap((item) =>
          item.Key
            ? [{ key: item.Key, size: item.Size ?? 0, modified: item.LastModified?.getTime() ?? 0 }]
            : [],
        ),
        next: page.IsTruncated ? page.NextContinuationToken : undefined,
      };
    } catch (error) {
      throw classifyS3Error(error, `listing ${prefix}`);
    }
  }

  async list(prefix: string, onPage?: () => void): Promise<RemoteObject[]> {
    const keys: RemoteObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.page(prefix, token);
      onPage?.();
      keys.push(...page.objects);
      token = page.next;
    } while (token);
    return sortedByKey(keys);
  }

  async listFirstPage(prefix: string): Promise<ListedPage> {
    const page = await this.page(prefix);
    return { objects: sortedByKey(page.objects), complete: page.next === undefined };
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw classifyS3Error(error, `deleting ${key}`);
    }
  }
}
