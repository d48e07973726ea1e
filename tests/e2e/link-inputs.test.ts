// Every input a link reads is in the key (SPEC §3 item 12): native code two crates below a binary,
// a library only the final link finds through `-L native=`, and an object handed over by path.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
} from "./harness";

const ORIGINAL = "native: 2\nnative2: 100\nnative3: 1000\nextra: 10\n";
const EDITS = {
  native: { file: "sys/native/native.c", from: "return 1;", to: "return 7;" },
  native2: { file: "sys/native/native2.c", from: "return 100;", to: "return 200;" },
  native3: { file: "sys/native/native3.c", from: "return 1000;", to: "return 3000;" },
  extra: { file: "app/native/extra.c", from: "return 10;", to: "return 30;" },
};

let workspace: string;
let cacheDir: string;
let coldKeys: Record<string, unknown>;

async function build(cwd = workspace): Promise<CargoResult> {
  const result = await cargo(["build", "--locked"], { cwd, cacheDir });
  expect(result.code, result.stderr).toBe(0);
  return result;
}

function app(cwd = workspace): string {
  return runBinary(join(cwd, "target", "debug", "native_app"));
}

function edit(name: keyof typeof EDITS, revert = false): void {
  const { file, from, to } = EDITS[name];
  const path = join(workspace, file);
  const text = readFileSync(path, "utf8");
  writeFileSync(path, revert ? text.replace(to, from) : text.replace(from, to));
}

function eventOf(result: CargoResult, crate: string): KacheEvent {
  const found = result.events.find((event) => event.crate === crate);
  if (!found) throw new Error(`no event for ${crate}: ${JSON.stringify(result.events)}`);
  return found;
}

beforeAll(async () => {
  workspace = copyFixture("native-ws");
  cacheDir = newCacheDir();
  const cold = await build();
  expect(cold.outcomes.miss).toBe(5);
  expect(app()).toBe(ORIGINAL);
  coldKeys = Object.fromEntries(cold.events.map((event) => [event.crate, event.key]));
}, 240_000);

afterAll(removeTempDirs);

test("C code two crates below the binary: the edit reaches the program, though mid's rlib is unchanged", async () => {
  edit("native");
  const result = await build();
  // Plain cargo relinks; so must kache: the binary links native_sys's rlib, which bundles the C.
  expect(eventOf(result, "native_mid").key).toBe(coldKeys.native_mid);
  expect(eventOf(result, "native_app").outcome).toBe("miss");
  expect(app()).toBe("native: 14\nnative2: 100\nnative3: 1000\nextra: 10\n");
});

test("a static library only the final link reads, found through -L native=", async () => {
  edit("native2");
  const result = await build();
  expect(eventOf(result, "native_app").outcome).toBe("miss");
  expect(app()).toBe("native: 14\nnative2: 200\nnative3: 1000\nextra: 10\n");
});

test("a static library bundled into the rlib by a #[link] attribute alone (no -l flag)", async () => {
  edit("native3");
  const result = await build();
  expect(eventOf(result, "native_sys").outcome).toBe("miss");
  expect(eventOf(result, "native_app").outcome).toBe("miss");
  expect(app()).toBe("native: 14\nnative2: 200\nnative3: 3000\nextra: 10\n");
});

test("an object the build script hands the linker by path (cargo:rustc-link-arg)", async () => {
  edit("extra");
  const result = await build();
  expect(eventOf(result, "native_app").outcome).toBe("miss");
  expect(app()).toBe("native: 14\nnative2: 200\nnative3: 3000\nextra: 30\n");
});

test("reverting every edit hits the original entries and prints the original output", async () => {
  for (const name of Object.keys(EDITS) as (keyof typeof EDITS)[]) edit(name, true);
  const result = await build();
  const appEvent = eventOf(result, "native_app");
  expect(appEvent.outcome).toBe("local hit");
  expect(appEvent.key).toBe(coldKeys.native_app);
  expect(app()).toBe(ORIGINAL);
});

test("another checkout hits every unit and prints the original output", async () => {
  const other = copyFixture("native-ws", { under: "elsewhere/deeper" });
  const result = await build(other);
  expect(result.outcomes).toEqual({
    "local hit": 5,
    "remote hit": 0,
    "prefetch hit": 0,
    miss: 0,
    passthrough: 0,
  });
  expect(app(other)).toBe(ORIGINAL);
  removeTarget(other);
});

test("a staticlib (rustc bundles the whole closure itself, no linker lists it) is not cached", async () => {
  const result = await cargo(["rustc", "--locked", "-p", "native_mid", "--crate-type", "staticlib"], {
    cwd: workspace,
    cacheDir,
  });
  expect(result.code, result.stderr).toBe(0);
  expect(eventOf(result, "native_mid")).toMatchObject({
    outcome: "passthrough",
    reason: "link-inputs-unknown",
  });
});

// Under LTO rustc reads every upstream rlib itself and hands the linker only filtered copies in its
// own temp dir (none when a crate has no native code), so no linker list names what the link read.
for (const lto of ["true", "thin"]) {
  test(`an LTO link (lto = ${lto}) is not cached, and every edit below it reaches the program`, async () => {
    const env = { CARGO_PROFILE_RELEASE_LTO: lto };
    const release = () => runBinary(join(workspace, "target", "release", "native_app"));
    const first = await cargo(["build", "--locked", "--release"], { cwd: workspace, cacheDir, env });
    expect(first.code, first.stderr).toBe(0);
    expect(eventOf(first, "native_app")).toMatchObject({ outcome: "passthrough", reason: "lto" });
    expect(release()).toBe(ORIGINAL);
    edit("native");
    try {
      const edited = await cargo(["build", "--locked", "--release"], { cwd: workspace, cacheDir, env });
      expect(edited.code, edited.stderr).toBe(0);
      expect(release()).toBe("native: 14\nnative2: 100\nnative3: 1000\nextra: 10\n");
    } finally {
      edit("native", true);
    }
    const reverted = await cargo(["build", "--locked", "--release"], { cwd: workspace, cacheDir, env });
    expect(reverted.code, reverted.stderr).toBe(0);
    expect(release()).toBe(ORIGINAL);
  }, 240_000);
}

test("a linker that is a script in front of cc: editing the script (the flags it adds) is a new link", async () => {
  const host = /^host: (\S+)$/m.exec(Bun.spawnSync(["rustc", "-vV"]).stdout.toString())![1]!;
  const script = join(makeTempDir("kache-e2e-linker-"), "cc-wrap");
  const env = { [`CARGO_TARGET_${host.toUpperCase().replaceAll("-", "_")}_LINKER`]: script };
  const symbols = () =>
    Bun.spawnSync(["readelf", "-S", join(workspace, "target", "debug", "native_app")])
      .stdout.toString()
      .includes(".symtab");
  writeFileSync(script, '#!/bin/sh\nexec cc "$@"\n', { mode: 0o755 });
  const first = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env });
  expect(first.code, first.stderr).toBe(0);
  expect(symbols()).toBe(true);
  // Same `--version` answer (cc's), other flags: the binary plain cargo links now has no symbols.
  writeFileSync(script, '#!/bin/sh\nexec cc "$@" -Wl,--strip-all\n', { mode: 0o755 });
  removeTarget(workspace);
  const second = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env });
  expect(second.code, second.stderr).toBe(0);
  expect(eventOf(second, "native_app").outcome).toBe("miss");
  expect(symbols()).toBe(false);
  expect(app()).toBe(ORIGINAL);
}, 240_000);

test('a #[link(kind = "static")] archive in a vendored lib dir outside OUT_DIR is keyed by content', async () => {
  const root = makeTempDir("kache-e2e-vendored-");
  const lib = join(root, "vendor");
  const crate = join(root, "natc");
  mkdirSync(lib);
  mkdirSync(join(crate, "src"), { recursive: true });
  writeFileSync(
    join(crate, "Cargo.toml"),
    '[package]\nname = "natc"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\npath = "src/lib.rs"\n\n[[bin]]\nname = "natc"\npath = "src/main.rs"\n',
  );
  writeFileSync(
    join(crate, "build.rs"),
    'fn main() {\n    println!("cargo:rerun-if-env-changed=NATC_LIB_DIR");\n    println!("cargo:rustc-link-search=native={}", std::env::var("NATC_LIB_DIR").unwrap());\n}\n',
  );
  writeFileSync(
    join(crate, "src", "lib.rs"),
    '#[link(name = "nv", kind = "static")]\nextern "C" {\n    fn nv() -> i32;\n}\npub fn value() -> i32 {\n    unsafe { nv() }\n}\n',
  );
  writeFileSync(join(crate, "src", "main.rs"), 'fn main() {\n    println!("nv={}", natc::value());\n}\n');
  const archive = (value: number) => {
    writeFileSync(join(lib, "nv.c"), `int nv(void) { return ${value}; }\n`);
    expect(Bun.spawnSync(["cc", "-c", "-fPIC", "nv.c", "-o", "nv.o"], { cwd: lib }).exitCode).toBe(0);
    rmSync(join(lib, "libnv.a"), { force: true });
    expect(Bun.spawnSync(["ar", "crsD", "libnv.a", "nv.o"], { cwd: lib }).exitCode).toBe(0);
  };
  const env = { NATC_LIB_DIR: lib };
  const buildNatc = async () => {
    const result = await cargo(["build"], { cwd: crate, cacheDir, env });
    expect(result.code, result.stderr).toBe(0);
    return runBinary(join(crate, "target", "debug", "natc")).trim();
  };
  archive(1);
  expect(await buildNatc()).toBe("nv=1");
  archive(2);
  removeTarget(crate);
  expect(await buildNatc()).toBe("nv=2");
}, 240_000);
