// Benchmark setup: Debian packages (sccache, the librust-*-dev crates), dist/kache, and work copies.

import { copyFileSync, cpSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

/** Real (not virtual) packages: dpkg-query only knows those. `regex+default` pulls in aho-corasick. */
const aptPackages = [
  // C toolchain: rustc links binaries, build scripts and proc-macros with cc.
  "gcc",
  "libc6-dev",
  "sccache",
  "librust-anyhow-dev",
  "librust-clap-dev",
  "librust-clap-derive-dev",
  "librust-log-dev",
  "librust-rayon-dev",
  "librust-regex-dev",
  "librust-regex+default-dev",
  "librust-serde-dev",
  "librust-serde-derive-dev",
  "librust-serde-json-dev",
  "librust-tokio-dev",
  "librust-tokio-macros-dev",
  // bench/cc-workload: ring's build script compiles bundled C with the cc crate.
  "librust-cc-dev",
  "librust-ring-dev",
];

function installed(name: string): boolean {
  const format = ["-f=$", "{Status}"].join(""); // dpkg-query's own placeholder, not a template
  const query = Bun.spawnSync(["dpkg-query", "-W", format, name], { stderr: "ignore" });
  return query.exitCode === 0 && query.stdout.toString().includes("ok installed");
}

function runOrThrow(command: string[], cwd?: string): void {
  const result = Bun.spawnSync(command, {
    cwd,
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    stdout: "inherit",
    stderr: "inherit",
  });
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} exited with ${result.exitCode}`);
}

/** apt-get installs whatever is missing, like .ci/run. */
export function ensurePackages(): void {
  const missing = aptPackages.filter((name) => !installed(name));
  if (missing.length === 0) return;
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  console.log(`installing: ${missing.join(" ")}`);
  runOrThrow([...sudo, "apt-get", "update", "-qq"]);
  runOrThrow([...sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", ...missing]);
}

/**
 * Builds dist/kache if it is missing, then snapshots it into the work dir: others may rebuild
 * dist/kache while the benchmark runs, and every round must time the same binary.
 */
export function snapshotKache(repository: string, workDirectory: string): string {
  const built = join(repository, "dist", "kache");
  if (!existsSync(built)) runOrThrow([process.execPath, "run", "build.ts"], repository);
  const snapshot = join(workDirectory, "kache-bin");
  copyFileSync(built, snapshot);
  Bun.spawnSync(["chmod", "755", snapshot]);
  return snapshot;
}

/** A private copy of bench/workload (without any target dir) for one mode. */
export function copyWorkload(repository: string, destination: string): string {
  const source = join(repository, "bench", "workload");
  mkdirSync(destination, { recursive: true });
  cpSync(source, destination, {
    recursive: true,
    filter: (path) => !path.startsWith(join(source, "target")),
  });
  return destination;
}

/** First line of a command's stdout, or "unavailable". */
export function commandOutput(command: string[]): string {
  try {
    const result = Bun.spawnSync(command, { stderr: "pipe" });
    const text = result.stdout.toString().trim();
    return result.exitCode === 0 && text ? text : "unavailable";
  } catch {
    return "unavailable";
  }
}
