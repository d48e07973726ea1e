// Shared by the install-script and github-action e2e tests: a release dir laid out as GitHub serves
// one (download/v<version>/<asset>, latest/download/<asset>), served by python3's http.server.
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { KACHE_BIN, makeTempDir, REPO_ROOT } from "./harness";

export const PACKAGE_VERSION: string = JSON.parse(
  await Bun.file(join(REPO_ROOT, "package.json")).text(),
).version;

/** The release asset this (Linux) host's install.sh asks for. */
export const HOST_ASSET = `kache-linux-${process.arch === "arm64" ? "arm64" : "x64"}`;

/** Writes `binary` as the host asset plus its SHA256SUMS into `dir` (sha256sum's format). */
export function writeRelease(dir: string, binary: string): void {
  mkdirSync(dir, { recursive: true });
  copyFileSync(binary, join(dir, HOST_ASSET));
  chmodSync(join(dir, HOST_ASSET), 0o755);
  const result = Bun.spawnSync(["sha256sum", HOST_ASSET], { cwd: dir });
  if (result.exitCode !== 0) throw new Error(`sha256sum failed: ${result.stderr}`);
  writeFileSync(join(dir, "SHA256SUMS"), result.stdout);
}

export interface ReleaseServer {
  root: string;
  /** The KACHE_INSTALL_BASE for install.sh: http://127.0.0.1:<port> */
  base: string;
  stop(): void;
}

/**
 * Serves `root` (with install.sh at its top); the host's dist/kache is release v<package version>,
 * also published as latest. Add more versions with `writeRelease(join(root, "download/v…"), …)`.
 */
export async function serveRelease(): Promise<ReleaseServer> {
  const root = makeTempDir("kache-e2e-release-");
  copyFileSync(join(REPO_ROOT, "install.sh"), join(root, "install.sh"));
  writeRelease(join(root, "download", `v${PACKAGE_VERSION}`), KACHE_BIN);
  writeRelease(join(root, "latest", "download"), KACHE_BIN);
  const child: Subprocess = Bun.spawn(
    ["python3", "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", root, "0"],
    { stdout: "pipe", stderr: "ignore", stdin: "ignore" },
  );
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!/port (\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`python3 http.server did not start: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = Number(/port (\d+)/.exec(text)?.[1]);
  return { root, base: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

/** A stand-in program for an older release: prints `kache <version>` for --version. */
export function fakeKache(version: string): string {
  const path = join(makeTempDir("kache-e2e-old-"), "kache");
  writeFileSync(path, `#!/bin/sh\necho "kache ${version}"\n`);
  chmodSync(path, 0o755);
  return path;
}
