// Builds kache with `bun build --compile`: dist/kache for the host, or with --release the four release binaries.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { $ } from "bun";
import { formulaFromSums } from "./build-formula";

// The platforms a release ships, as `kache-<platform>` assets, built with --target=bun-<platform>.
const RELEASE_PLATFORMS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"] as const;

/** Compiles src/main.ts to `outfile` by temp-then-rename: builds and tests may be running the previous binary. */
async function compile(outfile: string, extra: string[]): Promise<void> {
  // The temp file keeps the final name (in a temp dir): Bun embeds it, and the same sources must give
  // the same bytes, so that a rebuilt release has the same SHA256SUMS.
  const tempDir = join(dirname(outfile), `.build-${process.pid}`);
  mkdirSync(tempDir, { recursive: true });
  const temp = join(tempDir, basename(outfile));
  // No autoload of .env/bunfig.toml: a user's Rust project must never change kache's behaviour.
  // --bytecode with ESM roughly halves start-up (it works for the cross targets too: same JSC).
  try {
    await $`bun build src/main.ts --compile --bytecode --format=esm --splitting --minify --sourcemap=none \
      --no-compile-autoload-dotenv --no-compile-autoload-bunfig ${extra} --outfile ${temp}`.quiet();
    chmodSync(temp, 0o755);
    renameSync(temp, outfile);
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

/** Writes `path` whole or not at all (temp beside it, then rename). */
async function writeAtomically(path: string, text: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}-build-${process.pid}`);
  await Bun.write(temp, text);
  renameSync(temp, path);
}

/** The four binaries, their SHA256SUMS (sha256sum's format) and the Homebrew formula made from those sums. */
async function release(outDir: string, formulaPath: string): Promise<void> {
  const lines: string[] = [];
  for (const platform of RELEASE_PLATFORMS) {
    const name = `kache-${platform}`;
    // Bun fetches each target's runtime from the npm registry once, then keeps it in its cache.
    await compile(join(outDir, name), [`--target=bun-${platform}`]);
    const hash = new Bun.CryptoHasher("sha256").update(readFileSync(join(outDir, name))).digest("hex");
    lines.push(`${hash}  ${name}\n`);
    console.log(`built ${join(outDir, name)}`);
  }
  const sums = lines.join("");
  await writeAtomically(join(outDir, "SHA256SUMS"), sums);
  const pkg = JSON.parse(readFileSync("package.json", "utf8"));
  await writeAtomically(formulaPath, formulaFromSums(sums, pkg));
  console.log(`wrote ${join(outDir, "SHA256SUMS")} and ${formulaPath}`);
}

const { values } = parseArgs({
  options: {
    release: { type: "boolean", default: false },
    out: { type: "string", default: "dist/release" },
    formula: { type: "string", default: "Formula/kache.rb" },
  },
});
if (values.release) {
  await release(values.out, values.formula);
} else {
  // The metafile lets a test check the wrapper's imports.
  await compile("dist/kache", ["--metafile=dist/meta.json"]);
  console.log("built dist/kache");
}
