// Fitting styled text to the terminal's width.
import { expect, test } from "bun:test";
import { fitLine, pad, textWidth } from "../../../src/monitor/screen-text";

test("a line is cut or padded to exactly the width, escape sequences taking no room", () => {
  expect(fitLine("abc", 5)).toBe("abc  ");
  expect(fitLine("abcdef", 4)).toBe("abcd");
  const styled = fitLine("\x1b[1mbold\x1b[22m text", 6);
  expect(Bun.stripANSI(styled)).toBe("bold t");
  expect(styled.endsWith("\x1b[0m")).toBe(true);
  expect(textWidth(fitLine("\x1b[7m[1 Build]\x1b[27m", 20))).toBe(20);
});

test("wide characters count as two columns and are never cut in half", () => {
  expect(textWidth(fitLine("日本語", 5))).toBe(5);
  expect(Bun.stripANSI(fitLine("日本語", 5))).toBe("日本 ");
});

test("pad aligns left or right", () => {
  expect(pad("12", 5, "right")).toBe("   12");
  expect(pad("ab", 4)).toBe("ab  ");
  expect(pad("abcdef", 3)).toBe("abc");
});
