// The monitor's key reader: what a terminal sends in raw mode, named.
import { expect, test } from "bun:test";
import { parseKeys } from "../../../src/monitor/keys";

test("letters, digits, controls and escape sequences, several in one read", () => {
  expect(parseKeys("q")).toEqual(["q"]);
  expect(parseKeys("12?")).toEqual(["1", "2", "?"]);
  expect(parseKeys("\t\x1b[Z")).toEqual(["tab", "backtab"]);
  expect(parseKeys("\x1b[A\x1b[B\x1bOA")).toEqual(["up", "down", "up"]);
  expect(parseKeys("\x1b[5~\x1b[6~\x1b[H\x1b[F")).toEqual(["pageup", "pagedown", "home", "end"]);
  expect(parseKeys("\x03")).toEqual(["ctrl-c"]);
  expect(parseKeys("\r\x7f")).toEqual(["enter", "backspace"]);
  expect(parseKeys("\x1b")).toEqual(["escape"]);
});

test("an unknown escape sequence is dropped whole, not typed into a filter", () => {
  expect(parseKeys("\x1b[1;5Cx")).toEqual(["x"]);
  expect(parseKeys("\x1b[200~")).toEqual([]);
});

test("non-ASCII text is one key per character", () => {
  expect(parseKeys("é✓")).toEqual(["é", "✓"]);
});
