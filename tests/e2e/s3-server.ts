// A real S3-speaking server for the tests: s3rver (npm) on 127.0.0.1 in a child process, with its
// objects as plain files a test can tamper with, and an HTTP proxy of our own in front of it that
// injects faults (403 on every PUT or every request, 500s, a dropped connection, a server that is down, a body cut
// short as if whole, a connection dropped half-way through a body, a body or a listing that
// stops half-way and stays silent, every request held unanswered until the fault is cleared).

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { s3rverCommand } from "../support/s3rver-command";
import { freePort, makeTempDir, REPO_ROOT } from "./harness";

export type Fault =
  | "none"
  | "forbid-put"
  | "forbid-all"
  | "error-500"
  | "down"
  | "truncate-get"
  | "cut-get"
  | "stall-get"
  | "stall-list"
  | "hang"
  | "fail-marker-put";

export interface S3Server {
  /** The proxy's address: what kache is pointed at. */
  endpoint: string;
  bucket: string;
  dir: string;
  env: Record<string, string>;
  fault: Fault;
  /** Requests the proxy saw, as "METHOD /path". */
  requests: string[];
  /** The file s3rver keeps an object's bytes in. */
  objectFile(key: string): string;
  /** Every object key in the bucket. */
  objectKeys(): string[];
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  close(): Promise<void>;
}

const S3RVER = join(REPO_ROOT, "node_modules", "s3rver", "bin", "s3rver.js");

async function reachable(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

export async function startS3Server(bucket = "kache-test"): Promise<S3Server> {
  if (!existsSync(S3RVER)) throw new Error(`${S3RVER} is missing: run npm ci`);
  const dir = makeTempDir("kache-e2e-s3-");
  const port = freePort();
  let child: Subprocess | null = null;
  const spawnServer = async () => {
    child = Bun.spawn(s3rverCommand(REPO_ROOT, dir, port, bucket), {
      stdout: "ignore",
      stderr: "ignore",
    });
    const deadline = Date.now() + 20_000;
    while (!(await reachable(port))) {
      if (Date.now() > deadline) throw new Error("s3rver did not start within 20 s");
      await Bun.sleep(50);
    }
  };
  await spawnServer();
  const state = { fault: "none" as Fault, requests: [] as string[] };
  // A route that drops packets: requests get no answer until it comes back, then go through.
  let routeBack = Promise.withResolvers<void>();
  const proxy = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0, // a stalled body stays open until the client gives up
    async fetch(request) {
      const url = new URL(request.url);
      state.requests.push(`${request.method} ${url.pathname}`);
      if (state.fault === "hang") await routeBack.promise;
      if (state.fault === "down") return new Response("down", { status: 503 });
      // Wrong credentials: S3 refuses every request, and a HEAD's 403 has no body to say why.
      if (state.fault === "forbid-all")
        return new Response(request.method === "HEAD" ? null : "<Error><Code>AccessDenied</Code></Error>", {
          status: 403,
          headers: { "content-type": "application/xml" },
        });
      if (
        state.fault === "error-500" ||
        (state.fault === "fail-marker-put" &&
          request.method === "PUT" &&
          url.pathname.includes("/toolchains/"))
      )
        return new Response("<Error><Code>InternalError</Code></Error>", { status: 500 });
      if (state.fault === "forbid-put" && request.method === "PUT")
        return new Response("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", {
          status: 403,
          headers: { "content-type": "application/xml" },
        });
      const target = `http://127.0.0.1:${port}${url.pathname}${url.search}`;
      const headers = new Headers(request.headers);
      headers.delete("host");
      try {
        const upstream = await fetch(target, {
          method: request.method,
          headers,
          body:
            request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer(),
          redirect: "manual",
        });
        let body = request.method === "HEAD" ? null : new Uint8Array(await upstream.arrayBuffer());
        const responseHeaders = new Headers(upstream.headers);
        if (state.fault === "truncate-get" && body && url.pathname.endsWith(".tar.zst")) {
          body = body.subarray(0, Math.floor(body.length / 2)); // a cut-off body, framed as whole
          responseHeaders.set("content-length", String(body.length));
          responseHeaders.delete("etag");
        }
        const listing = request.method === "GET" && /^\/[^/]+\/?$/.test(url.pathname);
        const stalls =
          (state.fault === "stall-get" && url.pathname.endsWith(".tar.zst")) ||
          (state.fault === "stall-list" && listing);
        if (stalls && body) {
          // Half the body, then the connection stays open and silent.
          const half = body.subarray(0, Math.floor(body.length / 2));
          const stalled = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(half);
            },
            pull: () => new Promise<void>(() => {}),
          });
          return new Response(stalled, { status: upstream.status, headers: responseHeaders });
        }
        if (state.fault === "cut-get" && body && url.pathname.endsWith(".tar.zst")) {
          // Half the body, then the connection drops: the full length was promised.
          const half = body.subarray(0, Math.floor(body.length / 2));
          const cut = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(half);
            },
            async pull(controller) {
              await Bun.sleep(20);
              controller.error(new Error("connection dropped"));
            },
          });
          return new Response(cut, { status: upstream.status, headers: responseHeaders });
        }
        return new Response(body, { status: upstream.status, headers: responseHeaders });
      } catch {
        return new Response("upstream unavailable", { status: 502 });
      }
    },
  });
  const endpoint = `http://127.0.0.1:${proxy.port}`;
  const server: S3Server = {
    endpoint,
    bucket,
    dir,
    env: {
      KACHE_S3_BUCKET: bucket,
      KACHE_S3_ENDPOINT: endpoint,
      KACHE_S3_REGION: "us-east-1",
      KACHE_S3_ACCESS_KEY: "S3RVER",
      KACHE_S3_SECRET_KEY: "S3RVER",
    },
    get fault() {
      return state.fault;
    },
    set fault(value: Fault) {
      if (state.fault === "hang" && value !== "hang") {
        routeBack.resolve();
        routeBack = Promise.withResolvers<void>();
      }
      state.fault = value;
    },
    requests: state.requests,
    objectFile: (key) => join(dir, bucket, `${key}._S3rver_object`),
    objectKeys: () =>
      (readdirSync(join(dir, bucket), { recursive: true }) as string[])
        .filter((name) => name.endsWith("._S3rver_object"))
        .map((name) => name.slice(0, -"._S3rver_object".length))
        .sort(),
    async stopServer() {
      const running = child as Subprocess | null;
      running?.kill("SIGKILL");
      await running?.exited;
      child = null;
    },
    startServer: spawnServer,
    async close() {
      await server.stopServer();
      proxy.stop(true);
    },
  };
  return server;
}
