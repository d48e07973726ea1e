// Inputs the key must see (SPEC §3): a declared extra input edited while its crate compiles, an
// env var a proc-macro reads unseen once declared in cache.key_env_vars, `-C target-cpu=native`
// resolved to this machine's CPU, clippy's primary-package switch, and an entry bound only to the
// local roots its bytes really hold.
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CargoResult,
  cargo,
  copyFixture,
  type KacheEvent,
  makeTempDir,
  newCacheDir,
  removeTarget,
  removeTempDirs,
  runBinary,
  writeTree,
} from "./harness";

afterAll(removeTempDirs);

const TIMEOUT = 240_000;

function eventOf(result: CargoResult, crate: string): KacheEvent {
  const found = result.events.find((event) => event.crate === crate);
  if (!found) throw new Error(`no event for ${crate}: ${JSON.stringify(result.events)}`);
  return found;
}

async function build(cwd: string, cacheDir: string, env: Record<string, string> = {}): Promise<CargoResult> {
  const result = await cargo(["build", "--offline"], { cwd, cacheDir, env });
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/**
 * A proc-macro that reads `data/extra.txt` of the crate it expands in, after waiting for a release
 * file when asked to (so a test can edit the file while the crate compiles), and a library that
 * declares that file in kache.toml, as sqlx users declare their offline data.
 */
function extraInputWorkspace(): string {
  return writeTree(makeTempDir("kache-e2e-extra-"), {
    "Cargo.toml": '[workspace]\nmembers = ["reader", "user", "app"]\nresolver = "2"\n',
    "reader/Cargo.toml":
      '[package]\nname = "reader"\nversion = "0.1.0"\nedition = "2021"\n[lib]\nproc-macro = true\n',
    "reader/src/lib.rs": `use proc_macro::TokenStream;
#[proc_macro]
pub fn extra_text(_: TokenStream) -> TokenStream {
    if let Ok(marker) = std::env::var("READER_MARKER") {
        std::fs::write(&marker, "").unwrap();
        let release = std::env::var("READER_RELEASE").unwrap();
        while !std::path::Path::new(&release).exists() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let text = std::fs::read_to_string(format!("{dir}/data/extra.txt")).unwrap();
    format!("{:?}", text.trim()).parse().unwrap()
}
`,
    "user/Cargo.toml":
      '[package]\nname = "user"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\nreader = { path = "../reader" }\n',
    "user/kache.toml": 'extra_inputs = ["data/extra.txt"]\n',
    "user/data/extra.txt": "one\n",
    "user/src/lib.rs": "pub const TEXT: &str = reader::extra_text!();\n",
    "app/Cargo.toml":
      '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\nuser = { path = "../user" }\n',
    "app/src/main.rs": 'fn main() { println!("{}", user::TEXT); }\n',
  });
}

test(
  "an extra input edited while its crate compiles is not stored under the old content's key",
  async () => {
    const workspace = extraInputWorkspace();
    const cacheDir = newCacheDir();
    const signals = makeTempDir("kache-e2e-signals-");
    const marker = join(signals, "expanding");
    const release = join(signals, "release");
    const extra = join(workspace, "user", "data", "extra.txt");
    const racing = build(workspace, cacheDir, { READER_MARKER: marker, READER_RELEASE: release });
    while (!existsSync(marker)) await Bun.sleep(20);
    // kache hashed "one" when the call began; the macro now reads "two".
    writeFileSync(extra, "two\n");
    writeFileSync(release, "");
    const raced = await racing;
    expect(eventOf(raced, "user")).toMatchObject({ outcome: "miss", size: 0 });
    expect(runBinary(join(workspace, "target", "debug", "app")).trim()).toBe("two");

    // Back to "one" in a fresh target: an entry stored under "one" would hand back "two".
    writeFileSync(extra, "one\n");
    removeTarget(workspace);
    const reverted = await build(workspace, cacheDir);
    expect(eventOf(reverted, "user").outcome).toBe("miss");
    expect(runBinary(join(workspace, "target", "debug", "app")).trim()).toBe("one");
  },
  TIMEOUT,
);

/** A proc-macro that reads FIXTURE_MODE with std::env::var (rustc never hears of it) and a bin using it. */
function envMacroWorkspace(): string {
  return writeTree(makeTempDir("kache-e2e-envmacro-"), {
    "Cargo.toml": '[workspace]\nmembers = ["mode", "app"]\nresolver = "2"\n',
    "mode/Cargo.toml":
      '[package]\nname = "mode"\nversion = "0.1.0"\nedition = "2021"\n[lib]\nproc-macro = true\n',
    "mode/src/lib.rs": `use proc_macro::TokenStream;
#[proc_macro]
pub fn mode(_: TokenStream) -> TokenStream {
    let mode = std::env::var("FIXTURE_MODE").unwrap_or_else(|_| "unset".to_string());
    format!("{mode:?}").parse().unwrap()
}
`,
    "app/Cargo.toml":
      '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\nmode = { path = "../mode" }\n',
    "app/src/main.rs": 'fn main() { println!("{}", mode::mode!()); }\n',
  });
}

test(
  "an env var a proc-macro reads unseen is keyed once declared in KACHE_KEY_ENV_VARS",
  async () => {
    const workspace = envMacroWorkspace();
    const cacheDir = newCacheDir();
    const app = () => runBinary(join(workspace, "target", "debug", "app")).trim();
    const fresh = async (env: Record<string, string>) => {
      removeTarget(workspace);
      const result = await build(workspace, cacheDir, env);
      return { outcome: eventOf(result, "app").outcome, printed: app() };
    };
    expect(await fresh({ FIXTURE_MODE: "alpha" })).toEqual({ outcome: "miss", printed: "alpha" });
    // Undeclared, the read leaves no trace in the call: the fixture really hides it from kache.
    expect(await fresh({ FIXTURE_MODE: "beta" })).toEqual({ outcome: "local hit", printed: "alpha" });

    const declared = { KACHE_KEY_ENV_VARS: "OTHER_VAR,FIXTURE_*" };
    expect(await fresh({ ...declared, FIXTURE_MODE: "beta" })).toEqual({ outcome: "miss", printed: "beta" });
    // Unset but declared is a key of its own: never the entry stored before the declaration.
    expect(await fresh(declared)).toEqual({ outcome: "miss", printed: "unset" });
    expect(await fresh({ ...declared, FIXTURE_MODE: "alpha" })).toEqual({
      outcome: "miss",
      printed: "alpha",
    });
    expect(await fresh({ ...declared, FIXTURE_MODE: "beta" })).toEqual({
      outcome: "local hit",
      printed: "beta",
    });
  },
  TIMEOUT,
);

function indexComponents(cacheDir: string, crate: string): Record<string, string[]>[] {
  const db = new Database(join(cacheDir, "index.db"), { readonly: true });
  try {
    const rows = db
      .query("SELECT components FROM entries WHERE crate = ? AND bound_to IS NULL")
      .all(crate) as {
      components: string;
    }[];
    return rows.map((row) => JSON.parse(row.components));
  } finally {
    db.close();
  }
}

function hostCpu(): string {
  const listing = Bun.spawnSync(["rustc", "--print", "target-cpus"]).stdout.toString();
  return /\(currently ([^)]+)\)/.exec(listing)![1]!;
}

test(
  "-C target-cpu=native is keyed as this machine's CPU and features, never as the word native",
  async () => {
    const workspace = copyFixture("path-ws");
    const cacheDir = newCacheDir();
    await build(workspace, cacheDir, { RUSTFLAGS: "-C target-cpu=native" });
    const codegen = indexComponents(cacheDir, "fixture_core").flatMap((components) => components.codegen!);
    const cpu = codegen.filter((line) => line.startsWith("target-cpu="));
    expect(cpu.length).toBe(1);
    const features = Bun.spawnSync(["rustc", "--print", "cfg", "-C", "target-cpu=native"])
      .stdout.toString()
      .match(/^target_feature="[^"]+"$/gm)!
      .map((line) => line.slice('target_feature="'.length, -1))
      .sort();
    expect(cpu[0]).toBe(`target-cpu=native(${hostCpu()};${features.join(",")})`);
    // The features of another CPU give another key; the word alone would have matched any machine.
    expect(features.length).toBeGreaterThan(0);
  },
  TIMEOUT,
);

test(
  "clippy --no-deps: a crate cached as someone's dependency is linted when it is the primary package",
  async () => {
    const workspace = copyFixture("path-ws");
    const noisy = join(workspace, "noisy", "src", "lib.rs");
    writeFileSync(
      noisy,
      `${readFileSync(noisy, "utf8")}\npub fn empty(items: &[u8]) -> bool {\n    items.len() == 0\n}\n`,
    );
    const cacheDir = newCacheDir();
    const clippy = (pkg: string) =>
      cargo(["clippy", "--offline", "-p", pkg, "--no-deps", "--", "-D", "warnings"], {
        cwd: workspace,
        cacheDir,
      });
    // fixture_noisy is only a dependency here: clippy leaves it alone.
    const asDependency = await clippy("fixture_app");
    expect(asDependency.code, asDependency.stderr).toBe(0);
    removeTarget(workspace);
    const asPrimary = await clippy("fixture_noisy");
    expect(asPrimary.code).not.toBe(0);
    expect(asPrimary.cargoText).toContain("clippy::len_zero");
  },
  TIMEOUT,
);

/**
 * A `-sys`-like crate outside both checkouts, under CARGO_HOME (where the registry lives), whose
 * build script compiles C with debug info: the object, bundled into the rlib, names its source by
 * its CARGO_HOME path, the same for every checkout on this machine.
 */
function registryLikeCrate(cargoHome: string): string {
  return writeTree(join(cargoHome, "registry", "src", "fake-index", "cdep-0.1.0"), {
    "Cargo.toml": '[package]\nname = "cdep"\nversion = "0.1.0"\nedition = "2021"\nbuild = "build.rs"\n',
    "build.rs": `use std::{env, path::PathBuf, process::Command};
fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let source = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("native/c.c");
    assert!(Command::new("cc").args(["-g", "-c"]).arg(&source).arg("-o").arg(out.join("c.o")).status().unwrap().success());
    assert!(Command::new("ar").arg("crsD").arg(out.join("libc_dep.a")).arg(out.join("c.o")).status().unwrap().success());
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=c_dep");
}
`,
    "native/c.c": "int c_dep_value(void) { return 5; }\n",
    "src/lib.rs":
      'extern "C" { fn c_dep_value() -> i32; }\npub fn value() -> i32 { unsafe { c_dep_value() } }\n',
  });
}

function checkout(crate: string): string {
  return writeTree(join(makeTempDir("kache-e2e-checkout-"), "ws"), {
    "Cargo.toml": `[package]\nname = "user_app"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\ncdep = { path = ${JSON.stringify(crate)} }\n`,
    "src/main.rs": 'fn main() { println!("c: {}", cdep::value()); }\n',
  });
}

test(
  "an entry whose bytes name CARGO_HOME is bound to it, not to the target dir, so another checkout still hits it",
  async () => {
    const cargoHome = makeTempDir("kache-e2e-cargo-home-");
    const crate = registryLikeCrate(cargoHome);
    const cacheDir = newCacheDir();
    const env = { CARGO_HOME: cargoHome };
    const first = checkout(crate);
    const cold = await build(first, cacheDir, env);
    expect(eventOf(cold, "cdep").outcome).toBe("miss");
    const second = checkout(crate);
    const warm = await build(second, cacheDir, env);
    expect(eventOf(warm, "cdep").outcome).toBe("local hit");
    expect(runBinary(join(second, "target", "debug", "user_app")).trim()).toBe("c: 5");
    const bound = new Database(join(cacheDir, "index.db"), { readonly: true });
    const marker = bound
      .query("SELECT bound_to FROM entries WHERE crate = 'cdep' AND bound_to IS NOT NULL")
      .get() as {
      bound_to: string;
    } | null;
    bound.close();
    // Cargo compiles a path dependency outside the workspace in its own dir (kache's WORKSPACE root
    // for that call): the same dir for both checkouts. The target dir is not in the bytes.
    expect(marker?.bound_to.split(",")).toContain("CARGO_HOME");
    expect(marker?.bound_to.split(",")).not.toContain("TARGET");
  },
  TIMEOUT,
);
