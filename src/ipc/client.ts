// Talks to the daemon over its Unix socket with tight timeouts; a dead or silent daemon costs milliseconds.
import { statSync } from "node:fs";
import { PROTOCOL_VERSION, type Request, type Response } from "./protocol";

export class DaemonUnavailable extends Error {
  /** The errno code when connecting failed (ENOENT: no socket, ECONNREFUSED: nobody listening). */
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(code && !message.includes(code) ? `${message} (${code})` : message);
  }
}

export interface CallOptions {
  /** How long the daemon has to answer (or acknowledge a slow request) before we give up. */
  ackTimeoutMs: number;
  /** After an acknowledgement: how long the slow request may take. */
  replyTimeoutMs?: number;
  /**
   * A file a live daemon keeps fresh. When the answer is late but the file was touched within the
   * last second, the daemon is alive and busy (a loaded machine, downloads on its thread): wait up
   * to `busyAckTimeoutMs` in all before giving up. A silent or hung daemon costs only ackTimeoutMs.
   */
  heartbeat?: { path: string; busyAckTimeoutMs: number };
  epoch?: number;
}

type Outgoing = Request extends infer R ? (R extends Request ? Omit<R, "v" | "id"> : never) : never;

let nextId = 1;

const HEARTBEAT_FRESH_MS = 1000;

function heartbeatFresh(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < HEARTBEAT_FRESH_MS;
  } catch {
    return false;
  }
}

export function callDaemon(socketPath: string, request: Outgoing, options: CallOptions): Promise<Response> {
  const id = nextId++;
  const message = `${JSON.stringify({ ...request, v: PROTOCOL_VERSION, id, epoch: options.epoch })}\n`;
  return new Promise<Response>((resolve, reject) => {
    let buffered = "";
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let socket: { end(): void } | undefined;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.end();
      outcome();
    };
    const arm = (ms: number, what: string) => {
      clearTimeout(timer);
      timer = setTimeout(
        () => finish(() => reject(new DaemonUnavailable(`daemon did not ${what} within ${ms}ms`))),
        ms,
      );
    };
    const started = performance.now();
    const onAckTimeout = () => {
      const busy = options.heartbeat && heartbeatFresh(options.heartbeat.path);
      const left = busy ? options.heartbeat!.busyAckTimeoutMs - (performance.now() - started) : 0;
      if (left > 0 && !acked) {
        timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new DaemonUnavailable(
                  `daemon did not answer within ${options.heartbeat!.busyAckTimeoutMs}ms`,
                ),
              ),
            ),
          left,
        );
        return;
      }
      finish(() => reject(new DaemonUnavailable(`daemon did not answer within ${options.ackTimeoutMs}ms`)));
    };
    let acked = false;
    clearTimeout(timer);
    timer = setTimeout(onAckTimeout, options.ackTimeoutMs);
    const onLine = (line: string) => {
      const response = JSON.parse(line) as Response;
      if (response.id !== id) return;
      if ("type" in response && response.type === "ack") {
        acked = true;
        arm(options.replyTimeoutMs ?? options.ackTimeoutMs, "finish");
      } else finish(() => resolve(response));
    };
    Bun.connect({
      unix: socketPath,
      socket: {
        open(s) {
          socket = s;
          s.write(message);
        },
        data(_s, chunk) {
          buffered += chunk.toString();
          let newline = buffered.indexOf("\n");
          while (newline !== -1 && !settled) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            try {
              onLine(line);
            } catch {
              finish(() => reject(new DaemonUnavailable("daemon sent a malformed reply")));
            }
            newline = buffered.indexOf("\n");
          }
        },
        close() {
          finish(() => reject(new DaemonUnavailable("daemon closed the connection")));
        },
        error(_s, error) {
          finish(() => reject(new DaemonUnavailable(error.message)));
        },
        connectError(_s, error) {
          const code = (error as NodeJS.ErrnoException).code;
          finish(() => reject(new DaemonUnavailable(error.message, code)));
        },
      },
    }).catch((error: NodeJS.ErrnoException) =>
      finish(() => reject(new DaemonUnavailable(error.message, error.code))),
    );
  });
}
