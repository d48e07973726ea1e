import { expect, test } from "bun:test";
import { formatBytes, formatLimit, parseSize } from "../../../src/util/size";

test("a limit is shown in the unit it was likely written in", () => {
  expect(formatLimit(parseSize("50GiB"))).toBe("50 GiB");
  expect(formatLimit(parseSize("512MiB"))).toBe("512 MiB");
  expect(formatLimit(parseSize("1MiB"))).toBe("1 MiB");
  expect(formatLimit(parseSize("10GB"))).toBe("10 GB");
  expect(formatLimit(parseSize("5MB"))).toBe("5 MB");
  expect(formatLimit(1_234_567)).toBe(formatBytes(1_234_567));
  expect(formatLimit(0)).toBe("0 B");
});
