// Temp directories with real files for the config tests, removed after each test (removeTempDirsAfterEach).
import { afterEach } from "bun:test";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const created: string[] = [];

/**
 * Registered by each test file that imports this one: Bun loads a module once per run, so a hook
 * registered here at load time would clean up after the first file's tests only.
 */
export function removeTempDirsAfterEach(): void {
  afterEach(() => {
    for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
}

/** realpath so comparisons hold on macOS, where /tmp is a symlink. */
export function makeTempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "kache-config-")));
  created.push(dir);
  return dir;
}

export function writeFile(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}
