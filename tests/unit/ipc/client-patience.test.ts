// How long a wrapper waits for the daemon: a real Unix socket and a real heartbeat file. A daemon
// that is alive (its heartbeat fresh) but late, as on a 2-core machine busy with a fresh machine's
// downloads, is waited for; a silent one costs the short answer timeout.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callDaemon, DaemonUnavailable } from "../../../src/ipc/client";
import { BUSY_ANSWER_MS } from "../../../src/wrapper/daemon-hooks";

const root = mkdtempSync(join(tmpdir(), "kache-client-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let servers = 0;

/** A daemon stand-in that acknowledges each request after `ackAfterMs` (never when null), then answers. */
function lateDaemon(ackAfterMs: number | null): { socket: string; stop: () => void } {
  servers += 1;
  const socket = join(root, `d${servers}.sock`);
  const listener = Bun.listen<undefined>({
    unix: socket,
    socket: {
      data(client, chunk) {
        const { id, v } = JSON.parse(chunk.toString().trim()) as { id: number; v: number };
        if (ackAfterMs === null) return;
        setTimeout(() => {
          client.write(`${JSON.stringify({ v, id, ok: true, type: "ack" })}\n`);
          client.write(`${JSON.stringify({ v, id, ok: true, type: "manifests", added: 1 })}\n`);
        }, ackAfterMs);
      },
    },
  });
  return { socket, stop: () => listener.stop(true) };
}

function beating(path: string): () => void {
  writeFileSync(path, "");
  const timer = setInterval(() => utimesSync(path, new Date(), new Date()), 50);
  return () => clearInterval(timer);
}

const request = { type: "manifests", fingerprint: "f".repeat(64), crate: "serde", remote: {} } as never;

test("an alive daemon that answers late is waited for, well past the short timeout", async () => {
  const daemon = lateDaemon(Math.round(BUSY_ANSWER_MS * 0.6));
  const heartbeat = join(root, "alive.heartbeat");
  const stopBeating = beating(heartbeat);
  try {
    const answer = await callDaemon(daemon.socket, request, {
      ackTimeoutMs: 20,
      replyTimeoutMs: 3000,
      heartbeat: { path: heartbeat, busyAckTimeoutMs: BUSY_ANSWER_MS },
    });
    expect(answer).toMatchObject({ ok: true, type: "manifests", added: 1 });
  } finally {
    stopBeating();
    daemon.stop();
  }
});

test("a silent daemon without a heartbeat costs the short timeout only", async () => {
  const daemon = lateDaemon(null);
  const started = performance.now();
  try {
    const call = callDaemon(daemon.socket, request, {
      ackTimeoutMs: 20,
      heartbeat: { path: join(root, "none.heartbeat"), busyAckTimeoutMs: BUSY_ANSWER_MS },
    });
    await expect(call).rejects.toBeInstanceOf(DaemonUnavailable);
    expect(performance.now() - started).toBeLessThan(BUSY_ANSWER_MS / 2);
  } finally {
    daemon.stop();
  }
});

test("an alive daemon that never answers is given up on after the busy wait", async () => {
  const daemon = lateDaemon(null);
  const heartbeat = join(root, "stuck.heartbeat");
  const stopBeating = beating(heartbeat);
  try {
    const call = callDaemon(daemon.socket, request, {
      ackTimeoutMs: 20,
      heartbeat: { path: heartbeat, busyAckTimeoutMs: BUSY_ANSWER_MS },
    });
    await expect(call).rejects.toThrow(`daemon did not answer within ${BUSY_ANSWER_MS}ms`);
  } finally {
    stopBeating();
    daemon.stop();
  }
});
