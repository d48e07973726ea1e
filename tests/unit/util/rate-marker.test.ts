// The rate marker (a newer index's warning, the daemon autostart): due once per period, and a renewal
// goes to one process only, even to one that read the stale mtime just before another renewed it.
// (Many processes creating a missing marker at once: tests/e2e/index-and-env.test.ts.)
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { markerDue, releaseMarker } from "../../../src/util/rate-marker";

const root = mkdtempSync(join(tmpdir(), "kache-marker-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const MINUTE = 60_000;
let dirs = 0;

function freshMarker(): string {
  dirs += 1;
  return join(mkdtempSync(join(root, `${dirs}-`)), "marker");
}

/** A whole second `ms` ago: a marker set to it reads the same nanoseconds on every stat. */
function secondsAgo(ms: number): number {
  return Math.floor((Date.now() - ms) / 1000);
}

function setMtime(marker: string, seconds: number): void {
  utimesSync(marker, seconds, seconds);
}

describe("markerDue", () => {
  test("is due when the marker is missing, then not until the period has passed", () => {
    const marker = freshMarker();
    expect(markerDue(marker, MINUTE)).toBe(true);
    expect(markerDue(marker, MINUTE)).toBe(false);
    setMtime(marker, secondsAgo(2 * MINUTE));
    expect(markerDue(marker, MINUTE)).toBe(true);
    expect(markerDue(marker, MINUTE)).toBe(false);
  });

  // A process that read the stale mtime just before another renewed the marker must not renew it too.
  test("a renewal is claimed once for the mtime that was found stale", () => {
    const marker = freshMarker();
    markerDue(marker, MINUTE);
    const stale = secondsAgo(2 * MINUTE);
    setMtime(marker, stale);
    expect(markerDue(marker, MINUTE)).toBe(true);
    setMtime(marker, stale); // back to what the late process saw before the renewal
    expect(markerDue(marker, MINUTE)).toBe(false);
  });

  test("leaves only the newest renewal's claim behind", () => {
    const marker = freshMarker();
    markerDue(marker, MINUTE);
    for (const ms of [3 * MINUTE, 2 * MINUTE]) {
      setMtime(marker, secondsAgo(ms));
      expect(markerDue(marker, MINUTE)).toBe(true);
    }
    expect(readdirSync(join(marker, "..")).filter((name) => name.includes(".renewed-")).length).toBe(1);
  });

  test("a released renewal is due again at once, for one caller, first or renewed", () => {
    const marker = freshMarker();
    for (let round = 0; round < 3; round++) {
      expect(markerDue(marker, MINUTE)).toBe(true);
      expect(markerDue(marker, MINUTE)).toBe(false);
      releaseMarker(marker);
    }
    expect(markerDue(marker, MINUTE)).toBe(true);
    setMtime(marker, secondsAgo(2 * MINUTE));
    expect(markerDue(marker, MINUTE)).toBe(true); // a renewal, claimed
    releaseMarker(marker);
    expect([markerDue(marker, MINUTE), markerDue(marker, MINUTE)]).toEqual([true, false]);
  });
});
