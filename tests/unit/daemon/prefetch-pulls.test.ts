// A prefetch's pulls against a real index: what a build's remote check brought in after the plan
// was made is not downloaded a second time.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RemoteSettings } from "../../../src/config/settings";
import { pullPlanned } from "../../../src/daemon/prefetch-pulls";
import type { Remote } from "../../../src/remote/remote";
import { IndexDb } from "../../../src/store/index-db";
import { testEntry } from "../../support/entry";

const root = mkdtempSync(join(tmpdir(), "kache-prefetch-pulls-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const settings = { type: "s3", bucket: "b", prefix: "artifacts" } as RemoteSettings;
const key = (n: number) => n.toString(16).padStart(64, "0");

test("an entry that arrived after the plan is not pulled again", async () => {
  const index = IndexDb.open(root);
  // The remote check's download landed, and the wrapper counted its hit on it.
  index.putEntry(testEntry({ key: key(1), crate: "serde", compileMs: 10, hits: 1, created: 1, lastUsed: 1 }));
  const fetched: string[] = [];
  const counts = await pullPlanned(
    {
      remote: {} as Remote,
      settings,
      index,
      concurrency: 2,
      list: async (crate) =>
        [1, 2].map((n) => ({ key: `artifacts/${crate}/${key(n)}.tar.zst`, size: 100, modified: n })),
      fetchEntry: async (entryKey) => {
        fetched.push(entryKey);
        return "hit";
      },
    },
    // The plan's view of the store is the one from before the remote check.
    { crates: ["serde"], members: new Set(), session: null, saved: [], haveEntry: () => false },
  );
  expect(fetched).toEqual([key(2)]);
  expect(counts.pulled).toBe(1);
  expect(index.getEntry(key(1))?.hits).toBe(1);
  index.close();
});
