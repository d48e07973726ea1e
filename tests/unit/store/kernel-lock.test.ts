// Locks the kernel releases (SPEC §4 per-key lock): held across processes, freed the moment the
// holder is SIGKILLed, and never judged by a pid that a reused or restored lock file could name.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { flockLock, tryKernelLock } from "../../../src/store/kernel-lock";

const dir = mkdtempSync(join(tmpdir(), "kache-lock-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MODULE = resolve(import.meta.dir, "../../../src/store/kernel-lock.ts");

/** A child process that takes the lock with the named backend, says so, and then sleeps. */
async function holder(backend: "default" | "flock", name: string, file: string) {
  const script = `
    const { tryKernelLock, flockLock } = await import(${JSON.stringify(MODULE)});
    const lock = ${backend === "flock" ? "tryKernelLock(process.argv[1], process.argv[2], [flockLock])" : "tryKernelLock(process.argv[1], process.argv[2])"};
    console.log(lock ? "held" : "refused");
    await Bun.sleep(60_000);
  `;
  const child = Bun.spawn([process.execPath, "-e", script, name, file], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value).trim()).toBe("held");
  return child;
}

const BACKENDS = {
  default: (name: string, file: string) => tryKernelLock(name, file),
  flock: (name: string, file: string) => tryKernelLock(name, file, [flockLock]),
};

for (const [label, take] of Object.entries(BACKENDS) as [
  keyof typeof BACKENDS,
  (n: string, f: string) => ReturnType<typeof tryKernelLock>,
][]) {
  describe(`${label} backend`, () => {
    test("another process's lock is refused, and is ours the moment that process is SIGKILLed", async () => {
      const name = `test-${label}-${process.pid}`;
      const file = join(dir, `${label}.lock`);
      const child = await holder(label, name, file);
      try {
        expect(take(name, file)).toBeNull();
      } finally {
        child.kill("SIGKILL");
      }
      await child.exited;
      expect(child.signalCode).toBe("SIGKILL");
      const lock = take(name, file);
      expect(lock).toBeTruthy();
      lock!.release();
    });

    test("released locks can be taken again; different names do not collide", () => {
      const file = join(dir, `${label}-2.lock`);
      const first = take(`a-${label}`, file);
      expect(first).toBeTruthy();
      const other = take(`b-${label}`, join(dir, `${label}-3.lock`));
      expect(other).toBeTruthy();
      first!.release();
      other!.release();
      const again = take(`a-${label}`, file);
      expect(again).toBeTruthy();
      again!.release();
    });
  });
}

test("a lock file naming a live pid (a reused pid, a cache restored elsewhere) does not hold the lock", () => {
  const file = join(dir, "restored.lock");
  writeFileSync(file, String(process.pid)); // certainly alive
  const lock = tryKernelLock("restored", file, [flockLock]);
  expect(lock).toBeTruthy();
  lock!.release();
});
