// Writes onto a filesystem that fills up half-way, in a private mount namespace (`unshare -rm`: no
// root needed, nothing outside sees the 1 MB tmpfs). write(2) then takes what fits and fails only
// on the next call: a writer that stops after one call keeps half a file without an error.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = mkdtempSync(join(tmpdir(), "kache-full-disk-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SRC = join(import.meta.dir, "../../../src");

/** Runs `body` (TypeScript, with `dir` the full filesystem) in the namespace; what it prints. */
function onFullDisk(body: string): string {
  const mount = join(root, `mnt-${Math.random().toString(36).slice(2)}`);
  mkdirSync(mount);
  const script = join(root, `script-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(script, `const dir = ${JSON.stringify(mount)};\n${body}\n`);
  const run = Bun.spawnSync([
    "unshare",
    "-rm",
    "sh",
    "-c",
    `mount -t tmpfs -o size=1m tmpfs "$0" && "$1" "$2"`,
    mount,
    process.execPath,
    script,
  ]);
  expect(run.stderr.toString()).toBe("");
  return run.stdout.toString();
}

test("atomicWrite of more than fits throws, and neither the file nor its temp stays", () => {
  const printed = onFullDisk(`
import { existsSync, readdirSync } from "node:fs";
import { atomicWrite } from ${JSON.stringify(join(SRC, "util/atomic-write"))};
try {
  atomicWrite(dir + "/big", new Uint8Array(2 * 1024 * 1024).fill(7));
  console.log("no error");
} catch (error) {
  console.log((error as NodeJS.ErrnoException).code);
}
console.log(JSON.stringify(readdirSync(dir)));
`);
  expect(printed).toBe("ENOSPC\n[]\n");
});

test("writeAllSync into a file that fills up throws instead of stopping short", () => {
  const printed = onFullDisk(`
import { closeSync, openSync, statSync } from "node:fs";
import { writeAllSync } from ${JSON.stringify(join(SRC, "util/write-all"))};
const fd = openSync(dir + "/blob", "w");
try {
  writeAllSync(fd, new Uint8Array(2 * 1024 * 1024).fill(7));
  console.log("no error", statSync(dir + "/blob").size);
} catch (error) {
  console.log((error as NodeJS.ErrnoException).code);
} finally {
  closeSync(fd);
}
`);
  expect(printed).toBe("ENOSPC\n");
});
