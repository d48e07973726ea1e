// Builds dist/kache: one self-contained executable for the host (bun build --compile).

import { chmodSync, mkdirSync } from "node:fs";
import { $ } from "bun";

const outfile = "dist/kache";
mkdirSync("dist", { recursive: true });
// No autoload of .env/bunfig.toml: a user's Rust project must never change kache's behaviour.
// --bytecode with ESM roughly halves start-up; --metafile lets a test check the wrapper's imports.
await $`bun build src/main.ts --compile --bytecode --format=esm --minify --sourcemap=none \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
  --metafile=dist/meta.json --outfile ${outfile}`.quiet();
chmodSync(outfile, 0o755);
console.log(`built ${outfile}`);
