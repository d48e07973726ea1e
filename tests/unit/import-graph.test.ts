// The wrapper hot path must not load the CLI framework, logger, S3 SDK, daemon or monitor. Read from
// the build's metafile: the binary is split into chunks, and a chunk reached only through a dynamic
// import is loaded only when that import runs.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const META = join(import.meta.dir, "../../dist/meta.json");
const FORBIDDEN_ON_WRAPPER_PATH = [
  /node_modules\/citty\//,
  /node_modules\/consola\//,
  /node_modules\/@clack\//,
  /node_modules\/@aws-sdk\//,
  /node_modules\/@decimalturn\/toml-patch\//,
  /node_modules\/@smithy\//,
  /^src\/(cli|daemon|remote|monitor)\//,
];

interface Output {
  entryPoint?: string;
  inputs: Record<string, unknown>;
  imports: { path: string; kind: string }[];
}

interface Meta {
  outputs: Record<string, Output>;
}

/** The chunk whose code holds `source`. */
function chunkOf(meta: Meta, source: string): string {
  const found = Object.entries(meta.outputs).find(([, output]) => source in output.inputs);
  if (!found) throw new Error(`no chunk holds ${source}`);
  return found[0];
}

/** The sources loaded when the chunk holding `source` is evaluated: static imports only. */
function staticSources(meta: Meta, source: string): string[] {
  const seen = new Set<string>();
  const queue = [chunkOf(meta, source)];
  while (queue.length) {
    const chunk = queue.pop()!;
    if (seen.has(chunk)) continue;
    seen.add(chunk);
    for (const imported of meta.outputs[chunk]?.imports ?? [])
      if (imported.kind !== "dynamic-import") queue.push(imported.path);
  }
  return [...seen].flatMap((chunk) => Object.keys(meta.outputs[chunk]?.inputs ?? {}));
}

describe("wrapper import graph", () => {
  if (!existsSync(META))
    throw new Error("dist/meta.json is missing: run `npm run build` (npm test does) first");
  const meta = JSON.parse(readFileSync(META, "utf8")) as Meta;

  test("main.ts loads only the mode check statically and the wrapper lazily", () => {
    const main = staticSources(meta, "src/main.ts");
    expect(main).toContain("src/wrapper/detect.ts");
    expect(main).not.toContain("src/wrapper/run-wrapper.ts");
    expect(main).not.toContain("src/cli/run-cli.ts");
    const lazy = meta.outputs[chunkOf(meta, "src/main.ts")]!.imports.filter(
      (i) => i.kind === "dynamic-import",
    );
    const lazyChunks = lazy.map((i) => i.path);
    expect(lazyChunks).toContain(chunkOf(meta, "src/wrapper/run-wrapper.ts"));
    expect(lazyChunks).toContain(chunkOf(meta, "src/cli/run-cli.ts"));
    expect(lazyChunks).toContain(chunkOf(meta, "src/cc/run-cc.ts"));
    expect(main).toContain("src/cc/detect.ts");
    expect(main).not.toContain("src/cc/run-cc.ts");
  });

  test("the Rust wrapper path loads nothing of the C/C++ wrapper beyond its detection", () => {
    const loaded = [
      ...staticSources(meta, "src/main.ts"),
      ...staticSources(meta, "src/wrapper/run-wrapper.ts"),
    ];
    expect(loaded.filter((path) => path.startsWith("src/cc/"))).toEqual(["src/cc/detect.ts"]);
  });

  test("the C/C++ wrapper path loads no CLI, logger, S3, daemon or monitor code", () => {
    const loaded = [...staticSources(meta, "src/main.ts"), ...staticSources(meta, "src/cc/run-cc.ts")];
    expect(loaded).toContain("src/cc/cc-flow.ts");
    const offenders = loaded.filter((path) => FORBIDDEN_ON_WRAPPER_PATH.some((rule) => rule.test(path)));
    expect(offenders).toEqual([]);
  });

  test("nothing reachable from the wrapper entry is CLI, logger, S3, daemon or monitor code", () => {
    const loaded = [
      ...staticSources(meta, "src/main.ts"),
      ...staticSources(meta, "src/wrapper/run-wrapper.ts"),
    ];
    const offenders = loaded.filter((path) => FORBIDDEN_ON_WRAPPER_PATH.some((rule) => rule.test(path)));
    expect(offenders).toEqual([]);
  });

  test("the check sees real edges: the CLI reaches citty, the S3 backend the SDK", () => {
    expect(
      staticSources(meta, "src/cli/run-cli.ts").some((path) => path.includes("node_modules/citty/")),
    ).toBe(true);
    expect(
      staticSources(meta, "src/remote/s3-remote.ts").some((path) =>
        path.includes("node_modules/@aws-sdk/client-s3/"),
      ),
    ).toBe(true);
  });
});
