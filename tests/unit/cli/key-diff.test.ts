// why-miss's explanation of two keys: lines paired by the file or variable they name.
import { expect, test } from "bun:test";
import { describeLine, diffDistance, explainDiff } from "../../../src/cli/key-diff";

const hashA = "a".repeat(64);
const hashB = "b".repeat(64);

test("a source whose hash changed is one change naming the file; new and gone files are added and removed", () => {
  const [sources] = explainDiff(
    { sources: [`src/lib.rs=${hashA}`, `src/old.rs=${hashA}`] },
    { sources: [`src/lib.rs=${hashB}`, `src/new.rs=${hashB}`] },
  );
  expect(sources!.component).toBe("sources");
  expect(sources!.lines.map(describeLine)).toEqual([
    `changed src/lib.rs: ${"a".repeat(12)} -> ${"b".repeat(12)}`,
    `added   src/new.rs=${"b".repeat(12)}`,
    `removed src/old.rs=${"a".repeat(12)}`,
  ]);
});

test("an env-dep set, unset or changed is named by its variable", () => {
  const [envDeps] = explainDiff(
    { env_deps: ["GREETING", "MODE=fast", "GONE=1"] },
    { env_deps: ["GREETING=hello", "MODE=slow"] },
  );
  expect(envDeps!.lines.map(describeLine)).toEqual([
    "removed GONE=1",
    "changed GREETING: (unset) -> hello",
    "changed MODE: fast -> slow",
  ]);
});

test("one line a side under a name (a feature) pairs up as a change; several stay separate", () => {
  const [cfg] = explainDiff({ cfg: ['feature="a"', 'feature="b"'] }, { cfg: ['feature="a"', 'feature="c"'] });
  // One removed and one added `feature` line pair up as a change of that cfg.
  expect(cfg!.lines.map(describeLine)).toEqual(['changed feature: "b" -> "c"']);
  const [more] = explainDiff({ cfg: ['feature="a"'] }, { cfg: ['feature="b"', 'feature="c"'] });
  expect(more!.lines.map(describeLine)).toEqual([
    'removed feature="a"',
    'added   feature="b"',
    'added   feature="c"',
  ]);
});

test("distance counts differing components before differing lines", () => {
  const base = { sources: ["a.rs=1", "b.rs=1", "c.rs=1"], cfg: ["x"] };
  const manyLines = { sources: ["a.rs=2", "b.rs=2", "c.rs=2"], cfg: ["x"] };
  const twoComponents = { sources: ["a.rs=2", "b.rs=1", "c.rs=1"], cfg: ["y"] };
  expect(diffDistance(base, base)).toBe(0);
  expect(diffDistance(base, manyLines)).toBeLessThan(diffDistance(base, twoComponents));
});
