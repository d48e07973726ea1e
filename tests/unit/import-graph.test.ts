// The wrapper hot path must not load the CLI framework, logger, S3 SDK, daemon or monitor (read from the build's metafile).
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const META = join(import.meta.dir, "../../dist/meta.json");
const FORBIDDEN_ON_WRAPPER_PATH = [
  /node_modules\/citty\//,
  /node_modules\/consola\//,
  /node_modules\/@aws-sdk\//,
  /^src\/(cli|daemon|remote|monitor)\//,
];

interface Meta {
  inputs: Record<string, { imports: { path: string; kind: string }[] }>;
}

/** Every module loaded when `entry` is evaluated: static imports only, dynamic ones are lazy. */
function staticClosure(meta: Meta, entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    for (const imported of meta.inputs[path]?.imports ?? []) {
      if (imported.kind !== "dynamic-import") queue.push(imported.path);
    }
  }
  return seen;
}

describe("wrapper import graph", () => {
  if (!existsSync(META))
    throw new Error("dist/meta.json is missing: run `npm run build` (npm test does) first");
  const meta = JSON.parse(readFileSync(META, "utf8")) as Meta;

  test("main.ts loads only the mode check statically and the wrapper lazily", () => {
    const kinds = Object.fromEntries(meta.inputs["src/main.ts"]!.imports.map((i) => [i.path, i.kind]));
    expect(kinds["src/wrapper/run-wrapper.ts"]).toBe("dynamic-import");
    expect(kinds["src/cli/run-cli.ts"]).toBe("dynamic-import");
  });

  test("nothing reachable from the wrapper entry is CLI, logger, S3, daemon or monitor code", () => {
    const loaded = [
      ...staticClosure(meta, "src/main.ts"),
      ...staticClosure(meta, "src/wrapper/run-wrapper.ts"),
    ];
    const offenders = loaded.filter((path) => FORBIDDEN_ON_WRAPPER_PATH.some((rule) => rule.test(path)));
    expect(offenders).toEqual([]);
  });

  test("the check sees real edges: the CLI entry does reach citty", () => {
    const cli = [...staticClosure(meta, "src/cli/run-cli.ts")];
    expect(cli.some((path) => path.includes("node_modules/citty/"))).toBe(true);
  });
});
