// The daemon's transfer log: a bounded ring of finished transfers (newest first) and the ones under way.
import { expect, test } from "bun:test";
import { RECENT_TRANSFERS, TransferLog } from "../../../src/daemon/transfer-log";

const key = (n: number) => n.toString(16).padStart(64, "0");

test("of 300 finished transfers the ring keeps exactly the newest 200, newest first", () => {
  const log = new TransferLog();
  for (let n = 0; n < 300; n++) {
    const transfer = log.begin(n % 2 ? "upload" : "download", `crate_${n}`, key(n), "/bucket", "upload");
    log.finish(transfer, { bytes: n + 1 });
  }
  const recent = log.recent();
  expect(RECENT_TRANSFERS).toBe(200);
  expect(recent.length).toBe(200);
  expect(recent.map((record) => record.crate)).toEqual(
    Array.from({ length: 200 }, (_, i) => `crate_${299 - i}`),
  );
  expect(recent[0]).toMatchObject({ direction: "upload", key: key(299), bytes: 300, ok: true });
  expect(log.inFlight()).toEqual([]);
});

test("fewer than the capacity: all of them, newest first, and nothing else", () => {
  const log = new TransferLog(5);
  for (let n = 0; n < 3; n++)
    log.finish(log.begin("download", `c${n}`, key(n), "/b", "prefetch"), { bytes: 1 });
  expect(log.recent().map((record) => record.crate)).toEqual(["c2", "c1", "c0"]);
  for (let n = 3; n < 12; n++)
    log.finish(log.begin("download", `c${n}`, key(n), "/b", "prefetch"), { bytes: 1 });
  expect(log.recent().map((record) => record.crate)).toEqual(["c11", "c10", "c9", "c8", "c7"]);
});

test("in flight until finished or dropped; a failure keeps the bytes it got and a one-line error", async () => {
  const log = new TransferLog();
  const down = log.begin("download", "serde", key(1), "s3://b/p", "remote-check");
  const up = log.begin("upload", "anyhow", key(2), "s3://b/p", "upload");
  down.bytes = 4096;
  expect(log.inFlight()).toEqual([
    {
      direction: "download",
      crate: "serde",
      key: key(1),
      remote: "s3://b/p",
      cause: "remote-check",
      startedAt: down.startedAt,
      bytes: 4096,
    },
    {
      direction: "upload",
      crate: "anyhow",
      key: key(2),
      remote: "s3://b/p",
      cause: "upload",
      startedAt: up.startedAt,
      bytes: 0,
    },
  ]);
  await Bun.sleep(5);
  log.finish(down, { error: new Error(`connection reset\nsecond line${"x".repeat(500)}`) });
  log.drop(up);
  expect(log.inFlight()).toEqual([]);
  const [failed, ...rest] = log.recent();
  expect(rest).toEqual([]);
  expect(failed).toMatchObject({
    direction: "download",
    crate: "serde",
    bytes: 4096,
    ok: false,
    error: "connection reset",
  });
  expect(failed!.ms).toBeGreaterThanOrEqual(4);
  expect(failed!.at).toBeGreaterThanOrEqual(down.startedAt + failed!.ms);
  expect(Object.keys(failed!).sort()).toEqual([
    "at",
    "bytes",
    "cause",
    "crate",
    "direction",
    "error",
    "key",
    "ms",
    "ok",
    "remote",
  ]);
});

test("a long error is cut to one short line", () => {
  const log = new TransferLog();
  log.finish(log.begin("upload", "x", key(3), "/b", "upload"), { error: new Error("y".repeat(1000)) });
  const error = log.recent()[0]!.error!;
  expect(error.length).toBe(200);
  expect(error.endsWith("…")).toBe(true);
});
