// Builds dist/kache: one self-contained executable for the host (bun build --compile).
import { chmodSync, mkdirSync, renameSync } from "node:fs";
import { $ } from "bun";

const outfile = "dist/kache";
const temp = `dist/.kache-build-${process.pid}`;
mkdirSync("dist", { recursive: true });
// No autoload of .env/bunfig.toml: a user's Rust project must never change kache's behaviour.
// --bytecode with ESM roughly halves start-up; the metafile lets a test check the wrapper's imports.
await $`bun build src/main.ts --compile --bytecode --format=esm --splitting --minify --sourcemap=none \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
  --metafile=dist/meta.json --outfile ${temp}`.quiet();
chmodSync(temp, 0o755);
// Rename, never overwrite in place: builds and tests may be running the previous binary.
renameSync(temp, outfile);
console.log(`built ${outfile}`);
