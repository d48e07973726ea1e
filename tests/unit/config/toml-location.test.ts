// Finding a key's line in raw TOML text, since Bun.TOML.parse gives no positions.
import { expect, test } from "bun:test";
import { findKeyLine, findSyntaxErrorLine, splitDottedKey } from "../../../src/config/toml-location";

const TEXT = [
  "# top comment with key = 1",
  'cache.key_salt = "x"',
  "",
  "[cache]",
  "local_max_size = 1 # trailing",
  '  "quoted key" = 2',
  "[ cache . remote ]",
  'bucket="b"',
  "inline = { deep = 1 }",
  "[other]",
  "bucket = 3",
].join("\n");

test("splits dotted keys, quoted segments and spaces", () => {
  expect(splitDottedKey("cache.remote.bucket")).toEqual(["cache", "remote", "bucket"]);
  expect(splitDottedKey(" cache . \"a.b\" . 'c' ")).toEqual(["cache", "a.b", "c"]);
  expect(splitDottedKey("not a key")).toBeNull();
});

test("finds keys under their table header", () => {
  expect(findKeyLine(TEXT, "cache.key_salt")).toBe(2);
  expect(findKeyLine(TEXT, "cache.local_max_size")).toBe(5);
  expect(findKeyLine(TEXT, "cache.quoted key")).toBe(6);
  expect(findKeyLine(TEXT, "cache.remote.bucket")).toBe(8);
  expect(findKeyLine(TEXT, "other.bucket")).toBe(11);
});

test("a table resolves to its header, a key in an inline table to the line that opens it", () => {
  expect(findKeyLine(TEXT, "cache.remote")).toBe(7);
  expect(findKeyLine(TEXT, "cache.remote.inline.deep")).toBe(9);
  expect(findKeyLine(TEXT, "cache.missing")).toBeNull();
});

test("a syntax error is located by the shortest failing prefix", () => {
  const text = '[cache]\nkey_salt = "a"\nlist = [\n  1,\n  2,\n]\nbroken = \nok = 1\n';
  let message = "";
  try {
    Bun.TOML.parse(text);
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).not.toBe("");
  expect(findSyntaxErrorLine(text, message)).toBe(7);
  expect(findSyntaxErrorLine("a = 1\n", "TOML error at line 12")).toBe(12);
});
