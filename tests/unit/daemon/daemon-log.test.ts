// The daemon log on real files: line format, rotation, tailing, and following across a rotation.
import { afterEach, expect, test } from "bun:test";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { followLog, openDaemonLog, tailLines } from "../../../src/daemon/daemon-log";

const created: string[] = [];
afterEach(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function makeTempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "kache-daemon-log-")));
  created.push(dir);
  return dir;
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

test("lines are `<ISO time> <line>`, one time per line of a multi-line message", () => {
  const path = join(makeTempDir(), "logs", "daemon.log");
  const log = openDaemonLog(path);
  log.write("info daemon started");
  log.write("warn upload failed\nretrying");
  log.close();
  log.write("after close is ignored");
  const lines = readFileSync(path, "utf8").split("\n");
  expect(lines).toHaveLength(4);
  expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info daemon started$/);
  expect(lines[1]).toMatch(/Z warn upload failed$/);
  expect(lines[2]).toMatch(/Z retrying$/);
  expect(lines[3]).toBe("");
  expect(statSync(path).mode & 0o777).toBe(0o600);
});

test("rotation keeps `keep` old files, each under maxBytes, with the newest lines in daemon.log", () => {
  const path = join(makeTempDir(), "daemon.log");
  const log = openDaemonLog(path, { maxBytes: 400, keep: 2 });
  for (let index = 0; index < 100; index++) log.write(`info line ${String(index).padStart(3, "0")}`);
  log.close();
  expect(existsSync(`${path}.1`)).toBe(true);
  expect(existsSync(`${path}.2`)).toBe(true);
  expect(existsSync(`${path}.3`)).toBe(false);
  for (const file of [path, `${path}.1`, `${path}.2`]) expect(statSync(file).size).toBeLessThanOrEqual(400);
  const numbers = (file: string) =>
    readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((line) => Number(line.slice(-3)));
  const current = numbers(path);
  expect(current.at(-1)).toBe(99);
  // The three files hold one unbroken run ending at the newest line: nothing lost between them.
  const all = [...numbers(`${path}.2`), ...numbers(`${path}.1`), ...current];
  expect(all).toEqual(all.map((_, index) => 100 - all.length + index));
});

test("tailLines returns the last n lines, fewer when the file is short, none when missing", () => {
  const dir = makeTempDir();
  const path = join(dir, "daemon.log");
  writeFileSync(
    path,
    `${Array.from({ length: 5000 }, (_, index) => `line ${index} ${"x".repeat(40)}`).join("\n")}\n`,
  );
  expect(tailLines(path, 3)).toEqual([4997, 4998, 4999].map((index) => `line ${index} ${"x".repeat(40)}`));
  expect(tailLines(path, 5000)).toHaveLength(5000);
  writeFileSync(path, "a\nb\n");
  expect(tailLines(path, 10)).toEqual(["a", "b"]);
  expect(tailLines(join(dir, "missing.log"), 10)).toEqual([]);
});

test("followLog prints the last lines, then new ones, and keeps going across a rotation", async () => {
  const path = join(makeTempDir(), "daemon.log");
  writeFileSync(path, "old 1\nold 2\nold 3\n");
  let seen = "";
  const controller = new AbortController();
  const following = followLog(path, {
    lines: 2,
    signal: controller.signal,
    pollMs: 50,
    write: (text) => {
      seen += text;
    },
  });
  try {
    await waitFor(() => seen === "old 2\nold 3\n", "the last two lines");
    appendFileSync(path, "new 1\n");
    await waitFor(() => seen.endsWith("new 1\n"), "an appended line");

    // Rotate the way the daemon does (rename, fresh file) with a small maxBytes: two rotations. The
    // pauses matter: like tail -F, a follower that sleeps through two rotations misses the middle file.
    const log = openDaemonLog(path, { maxBytes: 120, keep: 2 });
    for (let index = 0; index < 6; index++) {
      log.write(`info rotating ${index}`);
      await Bun.sleep(120);
    }
    log.close();
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.1`)).toBe(true);
    await waitFor(() => seen.includes("rotating 5"), "lines written after the rotation");
    appendFileSync(path, "after rotation\n");
    await waitFor(() => seen.endsWith("after rotation\n"), "a line appended to the new file");
  } finally {
    controller.abort();
    await following;
  }
  const followed = seen.split("\n").filter(Boolean);
  expect(followed[0]).toBe("old 2");
  // Every rotating line arrives exactly once, in order, whichever file it was written to.
  expect(followed.filter((line) => line.includes(" rotating ")).map((line) => line.slice(-1))).toEqual([
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
  ]);
});

test("followLog without follow prints the tail and returns; with follow it waits for a missing file", async () => {
  const path = join(makeTempDir(), "daemon.log");
  let seen = "";
  const controller = new AbortController();
  const following = followLog(path, {
    signal: controller.signal,
    pollMs: 50,
    write: (text) => {
      seen += text;
    },
  });
  await Bun.sleep(120);
  writeFileSync(path, "first\n");
  await waitFor(() => seen === "first\n", "a file created after following started");
  controller.abort();
  await following;

  let once = "";
  await followLog(path, {
    follow: false,
    write: (text) => {
      once += text;
    },
  });
  expect(once).toBe("first\n");
});
