import { describe, expect, test } from "bun:test";
import {
  FAILURES_BEFORE_PAUSE,
  PAUSE_MS,
  RemoteHealth,
  STALL_MS,
  WRITES_RETRY_MS,
} from "../../../src/daemon/remote-health";
import { RemoteError } from "../../../src/remote/remote";

/** A health on a clock the test moves, with its log lines, probes and "back" calls counted. */
function healthOnAClock() {
  let now = 1_000_000;
  const lines: string[] = [];
  const probes: PromiseWithResolvers<void>[] = [];
  let backs = 0;
  const health = new RemoteHealth(
    "s3://bucket/prefix",
    { info: (line) => lines.push(`info ${line}`), warn: (line) => lines.push(`warn ${line}`) },
    {
      probe: () => {
        const probe = Promise.withResolvers<void>();
        probes.push(probe);
        return probe.promise;
      },
      back: () => {
        backs += 1;
      },
    },
    () => now,
  );
  return {
    health,
    lines,
    probes,
    backs: () => backs,
    pass: (ms: number) => {
      now += ms;
    },
  };
}

const transient = () => new RemoteError("transient", "looking up a: connection refused");
const settle = () => Bun.sleep(0);

describe("pause and probe", () => {
  test("a few failures in a row pause the remote; after the pause exactly one probe goes out", async () => {
    const h = healthOnAClock();
    for (let i = 0; i < FAILURES_BEFORE_PAUSE - 1; i++) h.health.failed(transient(), false);
    expect(h.health.usable()).toBe(true);
    h.health.failed(transient(), false);
    expect(h.health.paused()).toBe(true);
    expect(h.health.usable()).toBe(false);
    h.pass(PAUSE_MS - 1);
    expect(h.health.usable()).toBe(false);
    expect(h.probes.length).toBe(0);
    h.pass(1);
    // The first caller after the pause starts the probe; it and every other caller wait for it.
    for (let i = 0; i < 8; i++) expect(h.health.usable()).toBe(false);
    expect(h.probes.length).toBe(1);
    h.probes[0]!.resolve();
    await settle();
    expect(h.health.paused()).toBe(false);
    expect(h.health.usable()).toBe(true);
    expect(h.backs()).toBe(1);
    expect(h.lines.filter((line) => line.includes("then one probe")).length).toBe(1);
    expect(h.lines).toContain("info s3://bucket/prefix answers again");
  });

  test("a failed probe pauses again for a whole pause, said once", async () => {
    const h = healthOnAClock();
    for (let i = 0; i < FAILURES_BEFORE_PAUSE; i++) h.health.failed(transient(), false);
    h.pass(PAUSE_MS);
    expect(h.health.usable()).toBe(false);
    h.probes[0]!.reject(transient());
    await settle();
    expect(h.health.paused()).toBe(true);
    h.pass(PAUSE_MS - 1);
    expect(h.health.usable()).toBe(false);
    expect(h.probes.length).toBe(1);
    h.pass(1);
    expect(h.health.usable()).toBe(false);
    expect(h.probes.length).toBe(2);
    expect(h.lines.filter((line) => line.startsWith("warn")).length).toBe(1);
    expect(h.backs()).toBe(0);
  });

  test("a configuration error pauses too, and is said once per cause", async () => {
    const h = healthOnAClock();
    const denied = (key: string) =>
      new RemoteError("config", `looking up ${key}: 403, check the credentials`);
    h.health.failed(denied("a"), false);
    h.health.failed(denied("b"), true);
    expect(h.health.paused()).toBe(true);
    h.pass(PAUSE_MS);
    expect(h.health.usable()).toBe(false);
    h.probes[0]!.reject(denied("kache-probe"));
    await settle();
    expect(h.lines).toEqual(["warn s3://bucket/prefix: looking up a: 403, check the credentials"]);
    h.pass(PAUSE_MS);
    h.health.usable();
    h.probes[1]!.resolve();
    await settle();
    expect(h.health.usable()).toBe(true);
  });

  test("a refused write stops uploads without pausing pulls, until an upload tries again later", () => {
    const h = healthOnAClock();
    h.health.failed(new RemoteError("denied", "uploading a: 403"), true);
    h.health.failed(new RemoteError("denied", "uploading b: 403"), true);
    expect(h.health.writesRefused()).toBe(true);
    expect(h.health.usable()).toBe(true);
    h.pass(WRITES_RETRY_MS - 1);
    expect(h.health.writesRefused()).toBe(true);
    h.pass(1);
    expect(h.health.writesRefused()).toBe(false); // the next upload tries
    h.health.failed(new RemoteError("denied", "uploading c: 403"), true);
    expect(h.health.writesRefused()).toBe(true);
    expect(h.lines.length).toBe(1); // said once
    h.pass(WRITES_RETRY_MS);
    h.health.wrote(); // the policy was fixed
    expect(h.health.writesRefused()).toBe(false);
  });
});

describe("a remote that does not answer", () => {
  test("is not answering once a request has waited STALL_MS with no answer to any", async () => {
    const h = healthOnAClock();
    const hung = Promise.withResolvers<void>();
    void h.health.timed(hung.promise);
    h.pass(STALL_MS - 1);
    expect(h.health.notAnswering()).toBe(false);
    expect(h.health.usable()).toBe(true);
    h.pass(1);
    expect(h.health.notAnswering()).toBe(true);
    expect(h.health.usable()).toBe(false);
    // A timeout or a lost connection is no answer.
    const timedOut = Promise.withResolvers<void>();
    const lost = h.health.timed(timedOut.promise).catch(() => {});
    timedOut.reject(transient());
    await lost;
    expect(h.health.notAnswering()).toBe(true);
    // Any answer, even a refusal, shows the remote is there; so does a page of a long listing.
    const quick = Promise.withResolvers<void>();
    const failing = h.health.timed(quick.promise).catch(() => {});
    quick.reject(new RemoteError("config", "looking up a: 403, check the credentials"));
    await failing;
    expect(h.health.notAnswering()).toBe(false);
    h.pass(STALL_MS);
    expect(h.health.notAnswering()).toBe(true);
    h.health.heard();
    expect(h.health.notAnswering()).toBe(false);
    h.pass(STALL_MS);
    expect(h.health.notAnswering()).toBe(true);
    hung.resolve();
    await settle();
    expect(h.health.notAnswering()).toBe(false);
  });

  test("a slow request is fine while others answer", async () => {
    const h = healthOnAClock();
    void h.health.timed(new Promise(() => {}));
    for (let i = 0; i < 5; i++) {
      h.pass(STALL_MS / 2);
      await h.health.timed(Promise.resolve());
      expect(h.health.notAnswering()).toBe(false);
    }
  });
});
