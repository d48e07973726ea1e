// A prefetch's pulls against a real index: what a build's remote check brought in after the plan
// was made is not downloaded a second time, entries come in the order their uploader used them, and
// none starts while a wrapper waits for its own download.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RemoteSettings } from "../../../src/config/settings";
import { type PrefetchPulls, pullPlanned } from "../../../src/daemon/prefetch-pulls";
import type { Remote, RemoteObject } from "../../../src/remote/remote";
import { toolchainMarkerKey } from "../../../src/remote/toolchain-markers";
import { IndexDb } from "../../../src/store/index-db";
import { RightOfWay } from "../../../src/util/right-of-way";
import { entryTags } from "../../../src/wrapper/toolchain-tag";
import { testEntry } from "../../support/entry";

const root = mkdtempSync(join(tmpdir(), "kache-prefetch-pulls-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const settings = { type: "s3", bucket: "b", prefix: "artifacts" } as RemoteSettings;
const key = (n: number) => n.toString(16).padStart(64, "0");

/** A prefetch's pulls into `index`, one download at a time; `fetched` sees each key it downloads. */
function pullsInto(
  index: IndexDb,
  list: (crate: string) => Promise<RemoteObject[]>,
  fetched: (entryKey: string) => Promise<void> | void,
): PrefetchPulls {
  return {
    remote: {} as Remote,
    settings,
    index,
    concurrency: 2,
    downloads: 1,
    list,
    fetchEntry: async (entryKey) => {
      await fetched(entryKey);
      return "hit";
    },
  };
}

test("an entry that arrived after the plan is not pulled again", async () => {
  const index = IndexDb.open(root);
  // The remote check's download landed, and the wrapper counted its hit on it.
  index.putEntry(testEntry({ key: key(1), crate: "serde", compileMs: 10, hits: 1, created: 1, lastUsed: 1 }));
  const fetched: string[] = [];
  const counts = await pullPlanned(
    pullsInto(
      index,
      async (crate) =>
        [1, 2].map((n) => ({ key: `artifacts/${crate}/${key(n)}.tar.zst`, size: 100, modified: n })),
      (entryKey) => {
        fetched.push(entryKey);
      },
    ),
    // The plan's view of the store is the one from before the remote check.
    { crates: ["serde"], members: new Set(), session: null, saved: [], haveEntry: () => false },
  );
  expect(fetched).toEqual([key(2)]);
  expect(counts.pulled).toBe(1);
  expect(index.getEntry(key(1))?.hits).toBe(1);
  index.close();
});

const stable = {
  compiler: ["rustc 1.95.0\nhost: x86_64-unknown-linux-gnu\n"],
  target: ["x86_64-unknown-linux-gnu"],
};

/** An entry's archive and its marker: built by stable, last used by its uploader at `at`. */
const marked = (crate: string, at: number, output: "link" | "meta" = "link") => [
  { key: `artifacts/${crate}/${key(at)}.tar.zst`, size: 100, modified: 1 },
  {
    key: toolchainMarkerKey(settings, crate, entryTags(stable), { output, used: at, key: key(at) }),
    size: 0,
    modified: 1,
  },
];

test("entries are pulled in the order their uploader last used them, across crates", async () => {
  const dir = join(root, "order");
  mkdirSync(dir);
  const index = IndexDb.open(dir);
  // One listing holds every build script; the uploader built them between the other crates.
  const used: Record<string, number[]> = { build_script_build: [10, 40, 70], proc_macro2: [20], quote: [50] };
  const fetched: number[] = [];
  await pullPlanned(
    pullsInto(
      index,
      async (crate) => (used[crate] ?? []).flatMap((at) => marked(crate, at)),
      async (entryKey) => {
        fetched.push(Number.parseInt(entryKey, 16));
        await Bun.sleep(5); // every listing is in before the second pull starts
      },
    ),
    {
      crates: ["build_script_build", "proc_macro2", "quote"],
      members: new Set(),
      targetsPerCrate: new Map([["build_script_build", 3]]),
      session: entryTags(stable),
      saved: [],
      haveEntry: () => false,
    },
  );
  // In listing order, all three build scripts would come before proc_macro2.
  expect(fetched).toEqual([10, 20, 40, 50, 70]);
  index.close();
});

test("a check's entries planned before a call said the session links are not pulled", async () => {
  const dir = join(root, "links");
  mkdirSync(dir);
  const index = IndexDb.open(dir);
  let links = false;
  const fetched: number[] = [];
  const counts = await pullPlanned(
    pullsInto(
      index,
      async (crate) => [...marked(crate, 1, "link"), ...marked(crate, 2, "meta")],
      async (entryKey) => {
        fetched.push(Number.parseInt(entryKey, 16));
        links = true; // the wrapper of a library's call told the daemon while this pull ran
        await Bun.sleep(5);
      },
    ),
    {
      crates: ["serde"],
      members: new Set(),
      session: entryTags(stable),
      saved: [],
      haveEntry: () => false,
      sessionLinks: () => links,
    },
  );
  expect(fetched).toEqual([1]);
  expect(counts.checksLeft).toBe(1);
  index.close();
});

test("no pull starts while a wrapper's own download is under way", async () => {
  const dir = join(root, "right-of-way");
  mkdirSync(dir);
  const index = IndexDb.open(dir);
  const asked = new RightOfWay();
  // A wrapper's remote check is downloading before the prefetch's first pull is due.
  const download = Promise.withResolvers<void>();
  const check = asked.during(download.promise);
  const fetched: number[] = [];
  const pulls = {
    ...pullsInto(
      index,
      async (crate) => [1, 2].flatMap((at) => marked(crate, at)),
      (entryKey) => {
        fetched.push(Number.parseInt(entryKey, 16));
      },
    ),
    mayStart: () => asked.clear(60_000),
  };
  const pulled = pullPlanned(pulls, {
    crates: ["serde"],
    members: new Set(),
    session: entryTags(stable),
    saved: [],
    haveEntry: () => false,
  });
  await Bun.sleep(30);
  expect(fetched).toEqual([]);
  download.resolve();
  await check;
  const counts = await pulled;
  expect(fetched.sort()).toEqual([1, 2]);
  expect(counts.pulled).toBe(2);
  index.close();
});

test("once the remote is paused, no further download starts", async () => {
  const dir = join(root, "paused");
  mkdirSync(dir, { recursive: true });
  const index = IndexDb.open(dir);
  const fetched: string[] = [];
  let usable = true;
  const pulls = {
    ...pullsInto(
      index,
      async (crate) =>
        [1, 2, 3, 4, 5, 6].map((n) => ({
          key: `artifacts/${crate}/${key(n)}.tar.zst`,
          size: 100,
          modified: n,
        })),
      (entryKey) => {
        fetched.push(entryKey);
        if (fetched.length === 2) usable = false; // the remote failed enough to pause
      },
    ),
    usable: () => usable,
  };
  const request = {
    crates: ["serde", "regex"],
    members: new Set<string>(),
    session: null,
    saved: [],
    haveEntry: () => false,
  };
  await pullPlanned(pulls, request);
  expect(fetched.length).toBe(2);
  index.close();
});
