// Following events.jsonl on a real file: only new lines, a torn line kept for later, rotation.
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HistoryEvent } from "../../../src/cli/history";
import { EventTail } from "../../../src/monitor/event-tail";
import { makeTempDir, removeTempDirs } from "../../e2e/harness";

afterAll(removeTempDirs);

function line(crate: string): string {
  return `${JSON.stringify({ time: new Date().toISOString(), crate, outcome: "miss", size: 1 })}\n`;
}

test("reads what was appended since the last look, and a torn line only once it is whole", () => {
  const dir = makeTempDir("kache-unit-tail-");
  const log = join(dir, "events.jsonl");
  writeFileSync(join(dir, "events.jsonl.1"), line("rotated"));
  writeFileSync(log, line("a") + line("b"));
  const seen: string[] = [];
  const tail = new EventTail(dir);
  const onEvent = (event: HistoryEvent) => seen.push(event.crate);
  tail.start(onEvent);
  expect(seen).toEqual(["rotated", "a", "b"]);
  tail.poll(onEvent);
  expect(seen).toEqual(["rotated", "a", "b"]);

  const torn = line("c");
  appendFileSync(log, torn.slice(0, 20));
  tail.poll(onEvent);
  expect(seen).toEqual(["rotated", "a", "b"]);
  appendFileSync(log, torn.slice(20) + line("d"));
  tail.poll(onEvent);
  expect(seen).toEqual(["rotated", "a", "b", "c", "d"]);
  tail.close();
});

test("after a rotation it reads the old file to its end, then the new one from its start", () => {
  const dir = makeTempDir("kache-unit-tail-");
  const log = join(dir, "events.jsonl");
  writeFileSync(log, line("a"));
  const seen: string[] = [];
  const tail = new EventTail(dir);
  const onEvent = (event: HistoryEvent) => seen.push(event.crate);
  tail.start(onEvent);
  appendFileSync(log, line("b"));
  renameSync(log, `${log}.1`);
  writeFileSync(log, line("c"));
  tail.poll(onEvent);
  expect(seen).toEqual(["a", "b", "c"]);
  appendFileSync(log, `not json\n${line("d")}`);
  tail.poll(onEvent);
  expect(seen).toEqual(["a", "b", "c", "d"]);
  tail.close();
});

test("a log that does not exist yet is picked up once it does", () => {
  const dir = makeTempDir("kache-unit-tail-");
  const seen: string[] = [];
  const tail = new EventTail(dir);
  const onEvent = (event: HistoryEvent) => seen.push(event.crate);
  tail.start(onEvent);
  tail.poll(onEvent);
  writeFileSync(join(dir, "events.jsonl"), line("first"));
  tail.poll(onEvent);
  expect(seen).toEqual(["first"]);
  tail.close();
});
