// The key computation is pinned: changing it without bumping KEY_FORMAT_VERSION fails here.
import { describe, expect, test } from "bun:test";
import {
  diffComponents,
  digestKey,
  KEY_COMPONENTS,
  KEY_FORMAT_VERSION,
  type KeyComponents,
} from "../../../src/wrapper/cache-key";

function sampleComponents(): KeyComponents {
  const components = Object.fromEntries(
    KEY_COMPONENTS.map((name) => [name, [] as string[]]),
  ) as KeyComponents;
  components.format = [String(KEY_FORMAT_VERSION)];
  components.compiler = ["rustc 1.95.0 (59807616e 2026-04-14)\nhost: x86_64-unknown-linux-gnu\n"];
  components.target = ["x86_64-unknown-linux-gnu"];
  components.crate = ["name=demo", "types=lib", "edition=2021", "test=false"];
  components.codegen = ["debuginfo=2", "embed-bitcode=no", "extra-filename=-0123", "metadata=0123"];
  components.incremental = ["plain"];
  components.cfg = ['feature="default"'];
  components.sources = ["src/lib.rs=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"];
  components.env_deps = ["CARGO_PKG_NAME=demo", "OUT_DIR=<TARGET>/debug/build/demo-1/out"];
  components.remap = ["sentinels"];
  return components;
}

describe("cache key", () => {
  test("golden key: this exact input always gives this exact key", () => {
    expect(KEY_FORMAT_VERSION).toBe(4);
    expect(digestKey(sampleComponents())).toBe(
      "ecb42fe2bd6473314a96ccb2fb651acff3b5cef8a7fa18ab423cb9b899ea6145",
    );
  });

  test("every component changes the key", () => {
    const base = digestKey(sampleComponents());
    for (const name of KEY_COMPONENTS) {
      const changed = sampleComponents();
      changed[name] = [...changed[name], "something else"];
      expect(digestKey(changed)).not.toBe(base);
    }
  });

  test("lines cannot be shifted between components without changing the key", () => {
    const a = sampleComponents();
    const b = sampleComponents();
    a.salt = ["x"];
    b.linker = ["x"];
    expect(digestKey(a)).not.toBe(digestKey(b));
    const c = sampleComponents();
    c.cfg = ["ab"];
    const d = sampleComponents();
    d.cfg = ["a", "b"];
    expect(digestKey(c)).not.toBe(digestKey(d));
  });

  test("diffComponents names what changed", () => {
    const older = sampleComponents();
    const newer = sampleComponents();
    newer.sources = ["src/lib.rs=0000"];
    newer.cfg = ['feature="default"', 'feature="shout"'];
    const changes = diffComponents(older, newer);
    expect(changes.map((c) => c.name)).toEqual(["cfg", "sources"]);
    expect(changes[0]!.added).toEqual(['feature="shout"']);
  });
});
