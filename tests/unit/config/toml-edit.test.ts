import { describe, expect, test } from "bun:test";
import { parseToml, removeTomlValue, setTomlValue, tomlValue } from "../../../src/config/toml-edit";

const REAL_WORLD = `# Cargo config of a developer's machine
[net]
git-fetch-with-cli = true  # corporate proxy

[build]
jobs = 4
rustc-wrapper = "sccache"   # set by the old setup script

[target.x86_64-unknown-linux-gnu]
linker = "clang"
rustflags = ["-C", "link-arg=-fuse-ld=mold"]

[alias]
b = "build"
`;

describe("format-preserving TOML edits", () => {
  test("replacing a value keeps every other byte", () => {
    const edited = setTomlValue(REAL_WORLD, "config.toml", ["build", "rustc-wrapper"], "/opt/kache");
    expect(edited).toBe(REAL_WORLD.replace('"sccache"', '"/opt/kache"'));
  });

  test("adding a table to a file that lacks it appends it and keeps the rest", () => {
    const text = '# only an alias\n[alias]\nb = "build"\n';
    const edited = setTomlValue(text, "config.toml", ["build", "rustc-wrapper"], "/opt/kache");
    expect(edited.startsWith(text)).toBe(true);
    expect(tomlValue(parseToml(edited, "x"), ["build", "rustc-wrapper"])).toBe("/opt/kache");
    expect(tomlValue(parseToml(edited, "x"), ["alias", "b"])).toBe("build");
  });

  test("an empty file gets the table and a final newline", () => {
    const edited = setTomlValue("", "config.toml", ["build", "rustc-wrapper"], "/opt/kache");
    expect(edited).toBe('[build]\nrustc-wrapper = "/opt/kache"\n');
  });

  test("dotted keys stay dotted", () => {
    const text = 'build.jobs = 2\n[env]\nA = "1"\n';
    const edited = setTomlValue(text, "config.toml", ["build", "rustc-wrapper"], "/k");
    expect(edited).toBe('build.jobs = 2\nbuild.rustc-wrapper = "/k"\n[env]\nA = "1"\n');
  });

  test("removing a key keeps the other lines", () => {
    const edited = removeTomlValue(REAL_WORLD, "config.toml", ["build", "rustc-wrapper"]);
    expect(edited).toBe(
      REAL_WORLD.replace('rustc-wrapper = "sccache"   # set by the old setup script\n', ""),
    );
    expect(removeTomlValue(edited, "config.toml", ["build", "rustc-wrapper"])).toBe(edited);
  });

  test("a key under a value that is not a table is refused with the file named", () => {
    expect(() => setTomlValue('build = "x"\n', "/h/config.toml", ["build", "jobs"], 2)).toThrow(
      "/h/config.toml: `build.jobs` cannot be set",
    );
  });

  test("invalid TOML is one clear error naming the file", () => {
    expect(() => setTomlValue("[build\n", "/h/config.toml", ["build", "jobs"], 2)).toThrow(
      "/h/config.toml is not valid TOML",
    );
  });
});
