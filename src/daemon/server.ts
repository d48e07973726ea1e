// The daemon: one per cache dir, a Unix socket speaking the line protocol, idle timeout, graceful stop.
import { chmodSync, existsSync, mkdirSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import type { Socket } from "bun";
import { remoteConfigured, type Settings } from "../config/settings";
import { callDaemon } from "../ipc/client";
import { daemonPaths, ownEpoch } from "../ipc/daemon-paths";
import {
  type DaemonStats,
  type DaemonStatus,
  encode,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  REQUEST_TYPES,
  type Request,
  type Response,
} from "../ipc/protocol";
import { type HeldLock, tryKernelLock } from "../store/kernel-lock";
import { unlinkQuietly } from "../util/atomic-write";
import { KacheError } from "../util/errors";
import { VERSION } from "../version";
import { isToolchainTags } from "../wrapper/toolchain-tag";
import { scheduleGc } from "./gc-schedule";
import { RemoteService } from "./remote-service";

/** Requests that only read the daemon's state: they do not reset its idle timeout. */
const OBSERVING_REQUESTS: ReadonlySet<string> = new Set(["status", "stats", "transfers"]);

export interface DaemonLogger {
  info(message: string): void;
  warn(message: string): void;
  close(): void;
}

interface ConnectionState {
  buffered: string;
}

export class DaemonServer {
  private readonly paths;
  private readonly startedAt = Date.now();
  private readonly epoch = ownEpoch();
  private lastActivity = Date.now();
  private inflight = 0;
  private stopping: Promise<void> | null = null;
  private listener: ReturnType<typeof Bun.listen<ConnectionState>> | null = null;
  private idleTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private instanceLock: HeldLock | null = null;
  private stopGc: (() => void) | null = null;
  readonly remotes: RemoteService;
  private readonly stats: DaemonStats = {
    requests: {},
    remoteChecks: { hits: 0, misses: 0, errors: 0 },
    uploads: { queued: 0, done: 0, failed: 0 },
    prefetches: 0,
  };
  /** Resolves when the daemon has stopped; the caller exits with code 0. */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;

  constructor(
    private readonly settings: Settings,
    private readonly log: DaemonLogger,
  ) {
    this.paths = daemonPaths(settings.cacheDir);
    this.remotes = new RemoteService(
      settings.cacheDir,
      settings.s3Concurrency,
      settings.compressionLevel,
      log,
    );
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  /** Takes the one-per-cache-dir lock, clears a stale socket and starts listening. */
  async start(): Promise<void> {
    mkdirSync(this.settings.cacheDir, { recursive: true, mode: 0o700 });
    this.takeInstanceLock();
    // Before listening: loading the S3 backend would hold up the first wrappers' acknowledgements.
    if (remoteConfigured(this.settings.remote)) await this.remotes.warm(this.settings.remote);
    try {
      await this.clearStaleSocket();
      this.listen();
    } catch (error) {
      this.releaseInstanceLock();
      throw error;
    }
    this.armIdleTimer();
    this.startHeartbeat();
    this.remotes.start();
    this.stopGc = scheduleGc(this.settings, this.log);
    this.log.info(
      `daemon ${VERSION} started: pid ${process.pid}, epoch ${this.epoch}, socket ${this.paths.socket}`,
    );
  }

  /**
   * One daemon per cache dir: a lock the kernel drops when this process dies, so a pid in a stale
   * lock file (reused, or from another container) can never keep a new daemon out. The file
   * only tells `kache daemon` and the tests which pid holds it.
   */
  private takeInstanceLock(): void {
    const lock = tryKernelLock(`${this.settings.cacheDir}\0daemon`, `${this.paths.lock}.flock`);
    if (lock === null) {
      throw new KacheError(
        `a kache daemon is already running for ${this.settings.cacheDir}`,
        "see `kache daemon` for its status, or `kache daemon stop`",
      );
    }
    this.instanceLock = lock ?? null;
    writeFileSync(this.paths.lock, String(process.pid), { mode: 0o600 });
  }

  private releaseInstanceLock(): void {
    unlinkQuietly(this.paths.lock);
    this.instanceLock?.release();
    this.instanceLock = null;
  }

  /** A socket file left by a killed daemon makes listen fail with EADDRINUSE: remove it once nobody answers. */
  private async clearStaleSocket(): Promise<void> {
    if (!existsSync(this.paths.socket)) return;
    try {
      await callDaemon(this.paths.socket, { type: "ping" }, { ackTimeoutMs: 300 });
      throw new KacheError(
        `another daemon answers on ${this.paths.socket}`,
        "stop it with `kache daemon stop`",
      );
    } catch (error) {
      if (error instanceof KacheError) throw error;
      unlinkSync(this.paths.socket);
      this.log.info(`removed a stale socket left by a previous daemon`);
    }
  }

  private listen(): void {
    this.listener = Bun.listen<ConnectionState>({
      unix: this.paths.socket,
      socket: {
        open: (socket) => {
          socket.data = { buffered: "" };
        },
        data: (socket, chunk) => this.onData(socket, chunk.toString()),
        error: (_socket, error) => this.log.warn(`connection error: ${error.message}`),
      },
    });
    chmodSync(this.paths.socket, 0o600);
  }

  private onData(socket: Socket<ConnectionState>, text: string): void {
    socket.data.buffered += text;
    let newline = socket.data.buffered.indexOf("\n");
    while (newline !== -1) {
      const line = socket.data.buffered.slice(0, newline);
      socket.data.buffered = socket.data.buffered.slice(newline + 1);
      if (!this.onLine(socket, line)) return;
      newline = socket.data.buffered.indexOf("\n");
    }
    if (socket.data.buffered.length > MAX_MESSAGE_BYTES) {
      this.log.warn("closed a connection that sent an oversized message");
      socket.end();
    }
  }

  /** Handles one line; false when the connection was closed because the line was garbage. */
  private onLine(socket: Socket<ConnectionState>, line: string): boolean {
    let request: Request;
    try {
      request = JSON.parse(line) as Request;
      if (typeof request !== "object" || request === null || typeof request.id !== "number")
        throw new Error();
    } catch {
      this.log.warn("closed a connection that sent a line that is not a request");
      socket.end(encode({ v: PROTOCOL_VERSION, id: 0, ok: false, error: "not a JSON request line" }));
      return false;
    }
    // Looking at the daemon (a monitor left open asks every second) is not using it: it still idles out.
    const observing = OBSERVING_REQUESTS.has(request.type);
    if (!observing) this.lastActivity = Date.now();
    this.inflight += 1;
    this.handle(socket, request)
      .catch((error: Error) =>
        reply(socket, { v: PROTOCOL_VERSION, id: request.id, ok: false, error: error.message }),
      )
      .finally(() => {
        this.inflight -= 1;
        if (!observing) this.lastActivity = Date.now();
      });
    return true;
  }

  private async handle(socket: Socket<ConnectionState>, request: Request): Promise<void> {
    const base = { v: PROTOCOL_VERSION, id: request.id };
    if (typeof request.v !== "number" || request.v > PROTOCOL_VERSION) {
      reply(socket, {
        ...base,
        ok: false,
        error: `protocol version ${request.v} is newer than this daemon's (${PROTOCOL_VERSION})`,
        hint: "restart the daemon with `kache daemon restart`",
      });
      return;
    }
    if (!REQUEST_TYPES.includes(request.type)) {
      reply(socket, { ...base, ok: false, error: `unknown request type ${JSON.stringify(request.type)}` });
      return;
    }
    this.stats.requests[request.type] = (this.stats.requests[request.type] ?? 0) + 1;
    if (request.type === "remote-check" || request.type === "manifests") {
      reply(socket, { ...base, type: "ack" });
      reply(
        socket,
        request.type === "remote-check"
          ? await this.remoteCheck(request, base)
          : await this.manifests(request, base),
      );
      return;
    }
    reply(socket, this.answer(request, base));
    if (request.type === "shutdown") void this.stop("shutdown requested");
  }

  private answer(request: Request, base: { v: number; id: number }): Response {
    switch (request.type) {
      case "ping":
        return { ...base, ok: true, type: "pong", epoch: this.epoch, version: VERSION, pid: process.pid };
      case "status":
        return { ...base, ok: true, type: "status", status: this.status() };
      case "stats":
        return { ...base, ok: true, type: "stats", stats: this.stats };
      case "shutdown":
        return { ...base, ok: true, type: "shutdown" };
      case "transfers":
        return { ...base, ok: true, type: "transfers", transfers: this.remotes.transferReport() };
      case "upload":
        // The wrapper queued it on disk already; this only says "now".
        this.stats.uploads.queued += 1;
        this.remotes.wake();
        return { ...base, ok: true, type: "upload", queued: true };
      case "prefetch": {
        if (typeof request.projectDir !== "string" || typeof request.cargo !== "string" || !request.remote)
          return { ...base, ok: false, error: "a prefetch needs a projectDir, cargo and a remote" };
        this.stats.prefetches += 1;
        const session = isToolchainTags(request.toolchain) ? request.toolchain : null;
        const links = typeof request.links === "boolean" ? request.links : null;
        const queued = this.remotes.prefetch(request.remote, request.projectDir, request.cargo, session, {
          links,
          onlyTells: request.onlyTells === true,
        });
        return { ...base, ok: true, type: "prefetch", queued };
      }
      case "remote-check":
      case "manifests":
        return { ...base, ok: false, error: `${request.type} is answered asynchronously` };
    }
  }

  private async manifests(
    request: Extract<Request, { type: "manifests" }>,
    base: { v: number; id: number },
  ): Promise<Response> {
    if (typeof request.fingerprint !== "string" || typeof request.crate !== "string" || !request.remote)
      return { ...base, ok: false, error: "a manifests request needs a fingerprint, a crate and a remote" };
    const added = await this.remotes.manifests(request.remote, request.fingerprint, request.crate);
    return { ...base, ok: true, type: "manifests", added };
  }

  private async remoteCheck(
    request: Extract<Request, { type: "remote-check" }>,
    base: { v: number; id: number },
  ): Promise<Response> {
    if (typeof request.key !== "string" || typeof request.crate !== "string" || !request.remote)
      return { ...base, ok: false, error: "a remote-check needs a key, a crate and a remote" };
    try {
      const { result, reason } = await this.remotes.check(request.remote, request.key, request.crate);
      if (result === "hit") this.stats.remoteChecks.hits += 1;
      else this.stats.remoteChecks.misses += 1;
      return { ...base, ok: true, type: "remote-check", result, ...(reason ? { reason } : {}) };
    } catch (error) {
      this.stats.remoteChecks.errors += 1;
      return { ...base, ok: false, error: (error as Error).message };
    }
  }

  status(): DaemonStatus {
    const requests = Object.values(this.stats.requests).reduce((sum, n) => sum + n, 0);
    return {
      pid: process.pid,
      version: VERSION,
      epoch: this.epoch,
      protocol: PROTOCOL_VERSION,
      startedAt: this.startedAt,
      uptimeMs: Date.now() - this.startedAt,
      socket: this.paths.socket,
      cacheDir: this.settings.cacheDir,
      requests,
      idleTimeoutSecs: this.settings.daemonIdleTimeoutSecs,
      remotes: this.remotes.health(),
    };
  }

  /** Keeps daemon.heartbeat fresh, so a wrapper whose answer is late knows this daemon is alive. */
  private startHeartbeat(): void {
    const beat = () => {
      try {
        const now = new Date();
        utimesSync(this.paths.heartbeat, now, now);
      } catch {
        writeFileSync(this.paths.heartbeat, "", { mode: 0o600 });
      }
    };
    beat();
    this.heartbeatTimer = setInterval(beat, 100);
  }

  private armIdleTimer(): void {
    const timeoutMs = this.settings.daemonIdleTimeoutSecs * 1000;
    if (timeoutMs <= 0) return;
    this.idleTimer = setInterval(
      () => {
        if (this.inflight === 0 && Date.now() - this.lastActivity >= timeoutMs)
          void this.stop("idle timeout");
      },
      Math.min(1000, timeoutMs),
    );
  }

  /** Stops accepting, lets in-flight requests finish (bounded), removes the socket and the lock. */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info(`stopping: ${reason}`);
      if (this.idleTimer) clearInterval(this.idleTimer);
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      this.stopGc?.();
      unlinkQuietly(this.paths.heartbeat);
      this.listener?.stop(false);
      const deadline = Date.now() + 10_000;
      while (this.inflight > 0 && Date.now() < deadline) await Bun.sleep(10);
      this.listener?.stop(true);
      this.remotes.stop();
      unlinkQuietly(this.paths.socket);
      this.releaseInstanceLock();
      this.log.info("stopped");
      this.log.close();
      this.resolveStopped();
    })();
    return this.stopping;
  }
}

function reply(socket: Socket<ConnectionState>, response: Response): void {
  socket.write(encode(response));
}
