// Test preload (bunfig.toml): e2e tests run whatever dist/kache holds, so a binary missing or older than
// src/ or build.ts is rebuilt first (`bun run build.ts`); when that fails, no test runs.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const binary = join(root, "dist", "kache");

/** The newest mtime of build.ts and of everything under src/ (directories too: a deleted file). */
function newestSourceMs(): number {
  let newest = Math.max(statSync(join(root, "build.ts")).mtimeMs, statSync(join(root, "src")).mtimeMs);
  for (const path of readdirSync(join(root, "src"), { recursive: true, encoding: "utf8" }))
    newest = Math.max(newest, statSync(join(root, "src", path)).mtimeMs);
  return newest;
}

function staleness(): string | null {
  if (!existsSync(binary)) return "missing";
  return statSync(binary).mtimeMs < newestSourceMs() ? "older than src/ or build.ts" : null;
}

const why = staleness();
if (why) {
  console.error(`dist/kache is ${why}: running \`bun run build.ts\``);
  const build = Bun.spawnSync([process.execPath, "run", "build.ts"], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (build.exitCode !== 0 || staleness()) {
    throw new Error(
      `dist/kache is ${why} and \`bun run build.ts\` failed (exit ${build.exitCode}); the e2e tests ` +
        `would run a stale binary. Fix the build and rerun.\n${build.stdout}${build.stderr}`,
    );
  }
}
