// `kache clean` on real cargo target dirs: what it lists (sizes, the store's share), what it deletes
// (--yes, the picker in a pseudo-terminal), what it leaves (everything else, and what symlinks reach).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { hashFile } from "../../src/util/hash";
import { formatBytes } from "../../src/util/size";
import { cargo, copyFixture, KACHE_BIN, makeTempDir, newCacheDir, removeTempDirs } from "./harness";
import { runCollected } from "./run-collected";

let root: string;
let cacheDir: string;
let home: string;
let workspaces: string[];
let outside: string;

afterAll(removeTempDirs);

function kacheEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !name.startsWith("KACHE_")) env[name] = value;
  return { ...env, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), KACHE_CACHE_DIR: cacheDir };
}

function clean(args: string[]) {
  return runCollected([KACHE_BIN, "clean", ...args], { cwd: root, env: kacheEnv() });
}

async function build(workspace: string): Promise<void> {
  const result = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
  expect(result.code, result.stderr).toBe(0);
}

/** Every path below `dir`, relative to it; symlinks listed, never entered (Bun's recursive readdir enters them). */
function listTree(dir: string, prefix = ""): string[] {
  const paths: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const path = join(prefix, entry.name);
    paths.push(path);
    if (entry.isDirectory()) paths.push(...listTree(dir, path));
  }
  return paths.sort();
}

/** What the listing should say for a target dir, measured here independently: size, stored share. */
function expectedRow(target: string): { size: string; stored: string } {
  const seen = new Set<string>();
  let bytes = 0;
  let stored = 0;
  for (const path of listTree(target).map((name) => join(target, name))) {
    const stat = lstatSync(path);
    if (!stat.isFile() || seen.has(`${stat.ino}`)) continue;
    seen.add(`${stat.ino}`);
    bytes += stat.size;
    const hash = stat.size > 0 ? hashFile(path) : "";
    const blob = join(cacheDir, "store", hash.slice(0, 2), hash);
    if (hash && (existsSync(blob) || existsSync(`${blob}.x`))) stored += stat.size;
  }
  return { size: formatBytes(bytes), stored: formatBytes(stored) };
}

/** The target dirs in the order kache lists them. */
const targets = () => workspaces.map((workspace) => join(workspace, "target")).sort();

beforeAll(async () => {
  root = makeTempDir("kache-clean-root-");
  home = makeTempDir("kache-clean-home-");
  cacheDir = newCacheDir();
  workspaces = [
    copyFixture("path-ws", { base: root, under: "a" }),
    copyFixture("path-ws", { base: root, under: "b/c" }),
  ];
  for (const workspace of workspaces) await build(workspace);
  // Out of the tree: a cargo target dir reached only through a symlink, and a dir a target links to.
  outside = makeTempDir("kache-clean-outside-");
  mkdirSync(join(outside, "project", "target", "debug", ".fingerprint"), { recursive: true });
  writeFileSync(
    join(outside, "project", "target", "CACHEDIR.TAG"),
    "Signature: 8a477f597d28d172789f06886806bc55\n",
  );
  mkdirSync(join(outside, "kept"));
  writeFileSync(join(outside, "kept", "file"), "must survive\n");
  symlinkSync(join(outside, "project"), join(root, "linked-project"));
  symlinkSync(join(outside, "kept"), join(workspaces[0]!, "target", "debug", "link-out"));
  // Not cargo's: a dir named target without cargo's marks, and one inside node_modules.
  mkdirSync(join(root, "docs", "target"), { recursive: true });
  mkdirSync(join(root, "node_modules", "pkg", "target", "debug", ".fingerprint"), { recursive: true });
}, 240_000);

function expectOutsideIntact(): void {
  expect(readdirSync(join(outside, "project", "target")).sort()).toEqual(["CACHEDIR.TAG", "debug"]);
  expect(existsSync(join(outside, "kept", "file"))).toBe(true);
  expect(lstatSync(join(root, "linked-project")).isSymbolicLink()).toBe(true);
  expect(existsSync(join(root, "docs", "target"))).toBe(true);
  expect(existsSync(join(root, "node_modules", "pkg", "target"))).toBe(true);
}

test("--dry-run lists both target dirs with their size and stored share, and deletes nothing", async () => {
  const before = listTree(root);
  const result = await clean(["--dry-run"]);
  expect(result.code, result.stderr).toBe(0);
  const rows = result.stdout.split("\n").filter((line) => line.trim().endsWith("/target"));
  expect(
    rows.map((row) =>
      row
        .trim()
        .split(/\s{2,}/)
        .at(-1),
    ),
  ).toEqual(targets().map((t) => relative(root, t)));
  for (const [index, target] of targets().entries()) {
    const [size, stored] = rows[index]!.trim().split(/\s{2,}/);
    expect({ size, stored }).toEqual(expectedRow(target));
  }
  // The second build restored from the store: most of its bytes are blobs.
  const second = expectedRow(targets()[1]!);
  expect(second.stored).not.toBe("0 B");
  expect(result.stdout).toContain("2 target dirs");
  expect(listTree(root)).toEqual(before);
  expectOutsideIntact();
});

test("without a terminal and without --yes, nothing is deleted and the error says what to pass", async () => {
  const before = listTree(root);
  const result = await clean([]);
  expect(result.code).toBe(1);
  expect(result.stderr.trim().split("\n")).toEqual([
    "kache: error: not a terminal: nothing deleted (pass --yes to delete the 2 target dirs listed, or --dry-run to only list them)",
  ]);
  expect(result.stdout).toContain(relative(root, targets()[0]!));
  expect(listTree(root)).toEqual(before);
});

/** Runs `kache clean` in a pseudo-terminal (script), waits for the picker, types `keys`. */
async function pickInTerminal(keys: string[]): Promise<{ code: number; output: string }> {
  // script's terminal has no size (0 columns) until stty gives it one; the picker wraps to it.
  const command = `stty cols 120 rows 30; exec ${KACHE_BIN} clean`;
  const child = Bun.spawn(["script", "-qfec", command, "/dev/null"], {
    cwd: root,
    env: { ...kacheEnv(), TERM: "xterm", SHELL: "/bin/sh" },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const reading = (async () => {
    for await (const chunk of child.stdout) output += new TextDecoder().decode(chunk);
  })();
  const deadline = Date.now() + 20_000;
  while (!output.includes("Target dirs to delete") && Date.now() < deadline) await Bun.sleep(50);
  expect(output).toContain("Target dirs to delete");
  for (const key of keys) {
    child.stdin.write(key);
    child.stdin.flush();
    await Bun.sleep(200);
  }
  const code = await child.exited;
  await reading;
  child.stdin.end();
  return { code, output };
}

test("the picker in a terminal deletes the one target dir picked", async () => {
  const [first, second] = targets();
  const secondWorkspace = workspaces.find((workspace) => join(workspace, "target") === second)!;
  // Down to the second row, space to pick it, enter to confirm.
  const { code, output } = await pickInTerminal(["\x1b[B", " ", "\r"]);
  expect(code, output).toBe(0);
  expect(output).toContain(`deleted ${relative(root, second!)}`);
  expect(existsSync(second!)).toBe(false);
  expect(existsSync(join(first!, "debug"))).toBe(true);
  expect(existsSync(join(secondWorkspace, "Cargo.toml"))).toBe(true);
  expectOutsideIntact();
}, 60_000);

test("--yes deletes exactly the listed target dirs, and no symlink is followed", async () => {
  for (const workspace of workspaces) if (!existsSync(join(workspace, "target"))) await build(workspace);
  const before = listTree(root);
  const result = await clean(["--yes"]);
  expect(result.code, result.stderr).toBe(0);
  for (const target of targets()) {
    expect(result.stdout).toContain(`deleted ${relative(root, target)}`);
    expect(existsSync(target)).toBe(false);
  }
  const deleted = targets().map((target) => `${relative(root, target)}`);
  const expected = before.filter(
    (path) => !deleted.some((dir) => path === dir || path.startsWith(`${dir}/`)),
  );
  expect(listTree(root)).toEqual(expected);
  expectOutsideIntact();
  const again = await clean(["--yes"]);
  expect(again.stdout.trim()).toBe(`no cargo target dirs below ${root}`);
}, 120_000);
