// Talks to the daemon over its Unix socket with tight timeouts; a dead or silent daemon costs milliseconds.
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
  epoch?: number;
}

type Outgoing = Request extends infer R ? (R extends Request ? Omit<R, "v" | "id"> : never) : never;

let nextId = 1;

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
    arm(options.ackTimeoutMs, "answer");
    const onLine = (line: string) => {
      const response = JSON.parse(line) as Response;
      if (response.id !== id) return;
      if ("type" in response && response.type === "ack")
        arm(options.replyTimeoutMs ?? options.ackTimeoutMs, "finish");
      else finish(() => resolve(response));
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
