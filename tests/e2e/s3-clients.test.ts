// Both ways kache reads S3 answer alike against a real server (s3rver behind the fault proxy):
// Bun's native client (custom endpoints) and the AWS SDK (AWS itself). Objects, missing objects,
// listings of more than one page, and failures mid-body or of the whole server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSettings } from "../../src/config/load";
import type { RemoteSettings } from "../../src/config/settings";
import { CrateListings } from "../../src/daemon/crate-listings";
import { RemoteError } from "../../src/remote/remote";
import { S3Remote } from "../../src/remote/s3-remote";
import { makeTempDir, removeTempDirs } from "./harness";
import { type Fault, type S3Server, startS3Server } from "./s3-server";

let s3: S3Server;
let settings: RemoteSettings;
const body = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) % 253);
/** More than one page of a listing (S3 pages hold 1000 keys). */
const MANY = 1010;

beforeAll(async () => {
  s3 = await startS3Server();
  settings = loadSettings({ env: s3.env }).settings.remote;
  const uploader = new S3Remote(settings, { nativeReads: false });
  const dir = makeTempDir("kache-e2e-s3-clients-");
  writeFileSync(join(dir, "big"), body);
  writeFileSync(join(dir, "small"), "x");
  await uploader.upload("artifacts/serde/big.tar.zst", join(dir, "big"));
  for (const key of ["small/anyhow/a.tar.zst", "small/serde/b.tar.zst", "small/serde-json/c.tar.zst"])
    await uploader.upload(key, join(dir, "small"));
  let next = 0;
  const worker = async () => {
    while (next < MANY) {
      const n = next++;
      await uploader.upload(`artifacts/many/${String(n).padStart(5, "0")}`, join(dir, "small"));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}, 120_000);

afterAll(async () => {
  await s3?.close();
  removeTempDirs();
});

/** LIST requests the proxy has seen (path-style: `GET /bucket` with the prefix in the query). */
const listings = () => s3.requests.filter((line) => /^GET \/[^/]+\/?$/.test(line)).length;
const keysOf = (objects: { key: string }[]) => objects.map((object) => object.key);

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of stream) pieces.push(piece);
  return new Uint8Array(Buffer.concat(pieces));
}

for (const nativeReads of [true, false]) {
  describe(nativeReads ? "Bun's native client" : "the AWS SDK", () => {
    const remote = () => new S3Remote(settings, { nativeReads });

    test("an object's bytes, and null for one that is not there", async () => {
      const stream = await remote().read("artifacts/serde/big.tar.zst", 1 << 30);
      expect(stream).not.toBeNull();
      expect(Buffer.from(await readAll(stream!)).equals(Buffer.from(body))).toBe(true);
      expect(await remote().read("artifacts/serde/none.tar.zst", 1 << 30)).toBeNull();
    });

    test("a listing past its first page, sorted, with sizes and times", async () => {
      const objects = await remote().list("artifacts/many/");
      expect(objects.length).toBe(MANY);
      expect(objects.map((object) => object.key)).toEqual(
        Array.from({ length: MANY }, (_, n) => `artifacts/many/${String(n).padStart(5, "0")}`),
      );
      expect(objects.every((object) => object.size === 1 && object.modified > Date.now() - 3_600_000)).toBe(
        true,
      );
      const [big] = await remote().list("artifacts/serde/");
      expect(big).toMatchObject({ key: "artifacts/serde/big.tar.zst", size: body.length });
    });

    test("the first page of a listing says whether it was all", async () => {
      const first = await remote().listFirstPage("artifacts/");
      expect(first.complete).toBe(false);
      expect(keysOf(first.objects)).toEqual(
        Array.from({ length: 1000 }, (_, n) => `artifacts/many/${String(n).padStart(5, "0")}`),
      );
      const small = await remote().listFirstPage("small/");
      expect(small.complete).toBe(true);
      expect(keysOf(small.objects)).toEqual([
        "small/anyhow/a.tar.zst",
        "small/serde-json/c.tar.zst",
        "small/serde/b.tar.zst",
      ]);
    });

    test("one request lists every crate of a bucket that fits in a page", async () => {
      const crates = new CrateListings();
      const small = { ...settings, prefix: "small" };
      const before = listings();
      await crates.prime(remote(), small);
      expect(keysOf(await crates.get(remote(), small, "serde"))).toEqual(["small/serde/b.tar.zst"]);
      expect(keysOf(await crates.get(remote(), small, "serde-json"))).toEqual(["small/serde-json/c.tar.zst"]);
      expect(await crates.get(remote(), small, "regex")).toEqual([]);
      expect(listings() - before).toBe(1);
    });

    test("a bucket past one page: its first page serves the crates it covers, the rest are listed", async () => {
      const crates = new CrateListings();
      const before = listings();
      await crates.prime(remote(), settings);
      expect(await crates.get(remote(), settings, "anyhow")).toEqual([]); // sorts before the page's end
      expect(listings() - before).toBe(1);
      expect((await crates.get(remote(), settings, "many")).length).toBe(MANY); // the page ends inside it
      expect(keysOf(await crates.get(remote(), settings, "serde"))).toEqual(["artifacts/serde/big.tar.zst"]);
      expect(listings() - before).toBe(1 + 2 + 1);
    });

    test("a connection dropped mid-body and a server that is down are transient", async () => {
      for (const fault of ["cut-get", "down"] as const) {
        s3.fault = fault;
        try {
          const failure = await remote()
            .read("artifacts/serde/big.tar.zst", 1 << 30)
            .then((stream) => stream && readAll(stream))
            .catch((error) => error);
          expect(failure).toBeInstanceOf(RemoteError);
          expect((failure as RemoteError).kind).toBe("transient");
        } finally {
          s3.fault = "none";
        }
      }
    });

    /**
     * With `fault` on, `work` (through a remote with a 500 ms idle timeout) fails as transient in
     * time. Bun's fetch checks its idle timers on a coarse tick: 500 ms fires after about 6 s. The
     * proxy never closes an idle connection itself, so only kache's timeout ends the request.
     */
    async function failsAtIdleTimeout(fault: Fault, work: (remote: S3Remote) => Promise<unknown>) {
      s3.fault = fault;
      try {
        const started = performance.now();
        const failure = await work(new S3Remote(settings, { nativeReads, idleTimeoutMs: 500 })).catch(
          (error) => error,
        );
        expect(failure).toBeInstanceOf(RemoteError);
        expect((failure as RemoteError).kind).toBe("transient");
        expect(performance.now() - started).toBeLessThan(9_000);
      } finally {
        s3.fault = "none";
      }
    }

    test("a connection that goes silent mid-body fails as transient at the idle timeout", async () => {
      await failsAtIdleTimeout("stall-get", (remote) =>
        remote.read("artifacts/serde/big.tar.zst", 1 << 30).then((stream) => stream && readAll(stream)),
      );
    }, 20_000);

    // The daemon lists a crate's prefix before its prefetch and on every remote check it has no
    // listing for: a listing that hangs must not hold those up for Bun's five minutes.
    test("a listing that goes silent mid-body fails as transient at the idle timeout", async () => {
      await failsAtIdleTimeout("stall-list", (remote) => remote.list("artifacts/"));
    }, 20_000);

    test("a body over the cap is refused", async () => {
      const failure = await remote()
        .read("artifacts/serde/big.tar.zst", 1024)
        .then((stream) => stream && readAll(stream))
        .catch((error) => error);
      expect(failure).toBeInstanceOf(RemoteError);
    });

    test("a bucket that does not exist is a configuration error", async () => {
      const missing = new S3Remote({ ...settings, bucket: "no-such-bucket" }, { nativeReads });
      const failure = await missing.list("artifacts/").catch((error) => error);
      expect(failure).toBeInstanceOf(RemoteError);
      expect((failure as RemoteError).kind).toBe("config");
    });
  });
}
