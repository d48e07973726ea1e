// `kache sync [--pull] [--push] [--all] [--dry-run] [--manifest-path P]`: moves entries between the
// local store and the remote directly, with no daemon (SPEC §8). Exit 1 when any transfer failed.
import { dirname } from "node:path";
import { defineCommand } from "citty";
import type { Settings } from "../config/settings";
import {
  manifestIsLocal,
  parseManifestObjectKey,
  pullManifestObject,
  pushManifests,
} from "../remote/manifests";
import { crateListPrefix, entryObjectKey, parseEntryObjectKey, type Remote } from "../remote/remote";
import { parseToolchainMarker, suitability } from "../remote/toolchain-markers";
import { type LocalStores, pullEntry, pushEntry, remoteTemp } from "../remote/transfer";
import { describeError, KacheError } from "../util/errors";
import { formatBytes, formatDuration } from "../util/size";
import type { KeyComponents } from "../wrapper/cache-key";
import { declaredEnvLines } from "../wrapper/declared-env";
import { invocationFingerprint } from "../wrapper/direct-mode";
import { withScriptContent } from "../wrapper/tool-identity";
import { compilerTag } from "../wrapper/toolchain-tag";
import { settingsOrExit } from "./cli-settings";
import { findLockfile, lockfileCrates } from "./lockfile-crates";
import { openRemoteSession } from "./remote-session";

interface Job {
  label: string;
  bytes: number;
  run(): Promise<number>;
}

interface Tally {
  done: number;
  bytes: number;
  failed: number;
}

/** One line rewritten in place on a terminal; plain lines otherwise. */
function reporter(total: number, verb: string) {
  const tty = process.stderr.isTTY === true;
  let finished = 0;
  return {
    finished(label: string, bytes: number, error?: unknown) {
      finished += 1;
      const what = error
        ? `failed ${label}: ${describeError(error)}`
        : `${verb} ${label} (${formatBytes(bytes)})`;
      if (tty && !error) process.stderr.write(`\r\x1b[2K[${finished}/${total}] ${what}`);
      else process.stderr.write(`${tty ? "\r\x1b[2K" : ""}[${finished}/${total}] ${what}\n`);
    },
    end() {
      if (tty && total > 0) process.stderr.write("\r\x1b[2K");
    },
  };
}

async function runJobs(jobs: Job[], concurrency: number, verb: string): Promise<Tally> {
  const tally: Tally = { done: 0, bytes: 0, failed: 0 };
  const report = reporter(jobs.length, verb);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      try {
        const bytes = await job.run();
        tally.done += 1;
        tally.bytes += bytes;
        report.finished(job.label, bytes);
      } catch (error) {
        tally.failed += 1;
        report.finished(job.label, 0, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  report.end();
  return tally;
}

/**
 * The compiler tag of the rustc a build in `dir` runs (`RUSTC`, else the `rustc` rustup picks there,
 * which reads rust-toolchain.toml from the directory), with this machine's key salt and declared env
 * vars, as the prefetch tags them. Null when there is no compiler to ask.
 */
function workspaceCompilerTag(dir: string, settings: Settings): string | null {
  try {
    const result = Bun.spawnSync([process.env.RUSTC || "rustc", "-vV"], {
      cwd: dir,
      stdout: "pipe",
      stderr: "ignore",
      stdin: "ignore",
    });
    if (result.exitCode !== 0) return null;
    const salt = settings.keySalt ? [settings.keySalt] : [];
    const env = declaredEnvLines(settings.keyEnvVars, process.env);
    const identity = withScriptContent(process.env.RUSTC || "rustc", result.stdout.toString());
    return compilerTag({ compiler: [identity], salt, env });
  } catch {
    return null;
  }
}

/** Keys whose toolchain marker names another compiler than `compiler` (the prefetch's rule). */
function otherCompilers(keys: string[], compiler: string | null): Set<string> {
  if (compiler === null) return new Set();
  const markers = keys.map(parseToolchainMarker).filter((marker) => marker !== null);
  const rank = suitability(markers, { compiler, targets: [] });
  return new Set(markers.filter((marker) => rank(marker.key) === null).map((marker) => marker.key));
}

interface PullScope {
  /** The lock file's crates, or null for every crate. */
  crates: Set<string> | null;
  /** The workspace compiler's tag, or null for every compiler's entries. */
  compiler: string | null;
}

async function pullJobs(
  remote: Remote,
  settings: Settings,
  stores: LocalStores,
  scope: PullScope,
): Promise<{ jobs: Job[]; otherCompiler: number }> {
  const { crates } = scope;
  const objects = await remote.list(crateListPrefix(settings.remote, null));
  const other = otherCompilers(
    objects.map((object) => object.key),
    scope.compiler,
  );
  let otherCompiler = 0;
  const jobs: Job[] = [];
  for (const object of objects) {
    const list = parseManifestObjectKey(object.key);
    const crate = object.key.slice(crateListPrefix(settings.remote, null).length).split("/")[0]!;
    if (list && (!crates || crates.has(crate))) {
      // Input lists are small and always taken (with them a build needs no dep-info pre-pass),
      // unless the index has them already.
      if (manifestIsLocal(stores.index, list)) continue;
      jobs.push({
        label: `${crate} input list`,
        bytes: object.size,
        run: async () =>
          (await pullManifestObject(remote, object.key, list.fingerprint, stores.index)) ? object.size : 0,
      });
      continue;
    }
    const entry = parseEntryObjectKey(settings.remote, object.key);
    if (!entry || (crates && !crates.has(entry.crate)) || stores.index.getEntry(entry.key)) continue;
    if (other.has(entry.key)) {
      otherCompiler += 1;
      continue;
    }
    jobs.push({
      label: `${entry.crate} ${entry.key.slice(0, 12)}`,
      bytes: object.size,
      run: async () => {
        const size = await pullEntry(remote, settings.remote, entry.crate, entry.key, stores);
        if (size === null) throw new Error("gone from the remote since the listing");
        return size;
      },
    });
  }
  return { jobs, otherCompiler };
}

async function pushJobs(remote: Remote, settings: Settings, stores: LocalStores): Promise<Job[]> {
  const present = new Set(
    (await remote.list(crateListPrefix(settings.remote, null))).map((object) => object.key),
  );
  return stores.index
    .shareableEntries()
    .filter((entry) => !present.has(entryObjectKey(settings.remote, entry.crate, entry.key)))
    .map((entry) => ({
      label: `${entry.crate} ${entry.key.slice(0, 12)}`,
      bytes: entry.size,
      run: async () => {
        const sent = await pushEntry(remote, settings.remote, entry, stores, settings.compressionLevel);
        const fingerprint = invocationFingerprint(entry.components as unknown as KeyComponents);
        const temp = remoteTemp(stores.cacheDir, ".json");
        await pushManifests(remote, settings.remote, entry.crate, fingerprint, stores.index, temp);
        return sent;
      },
    }));
}

function summary(verb: string, tally: Tally, ms: number): string {
  const failed = tally.failed ? `, ${tally.failed} failed` : "";
  return `${verb} ${tally.done} objects (${formatBytes(tally.bytes)}) in ${formatDuration(ms)}${failed}`;
}

function dryRun(verb: string, jobs: Job[]): void {
  for (const job of jobs) process.stdout.write(`would ${verb} ${job.label} (${formatBytes(job.bytes)})\n`);
  const bytes = jobs.reduce((sum, job) => sum + job.bytes, 0);
  process.stdout.write(`would ${verb} ${jobs.length} objects (${formatBytes(bytes)})\n`);
}

export const syncCommand = defineCommand({
  meta: {
    name: "sync",
    description: "Pull entries from the remote cache and push local ones it lacks (no daemon needed)",
  },
  args: {
    pull: { type: "boolean", description: "only download" },
    push: { type: "boolean", description: "only upload" },
    all: {
      type: "boolean",
      description:
        "pull every crate and toolchain, not only the workspace's Cargo.lock crates its compiler built",
    },
    "dry-run": { type: "boolean", description: "list what would move, with sizes, and move nothing" },
    "manifest-path": {
      type: "string",
      description: "the workspace's Cargo.toml (default: found from the cwd)",
    },
  },
  async run({ args }) {
    const settings = settingsOrExit();
    const both = !args.pull && !args.push;
    const { remote, stores } = await openRemoteSession(settings);
    let failed = 0;
    try {
      if (args.pull || both) {
        const lockfile = args.all ? null : findLockfile(process.cwd(), args["manifest-path"]);
        const scope = {
          crates: lockfile ? lockfileCrates(lockfile) : null,
          compiler: lockfile ? workspaceCompilerTag(dirname(lockfile), settings) : null,
        };
        const { jobs, otherCompiler } = await pullJobs(remote, settings, stores, scope);
        if (otherCompiler > 0)
          process.stdout.write(
            `leaving ${otherCompiler} entries another compiler or key salt built (--all pulls them)\n`,
          );
        if (args["dry-run"]) dryRun("pull", jobs);
        else {
          const started = performance.now();
          const tally = await runJobs(jobs, settings.s3Concurrency, "pulled");
          failed += tally.failed;
          process.stdout.write(`${summary("pulled", tally, performance.now() - started)}\n`);
        }
      }
      if ((args.push || both) && settings.remote.readOnly) {
        process.stdout.write("not pushing: the remote is read-only (cache.remote.read_only)\n");
      } else if (args.push || both) {
        const jobs = await pushJobs(remote, settings, stores);
        if (args["dry-run"]) dryRun("push", jobs);
        else {
          const started = performance.now();
          const tally = await runJobs(jobs, settings.s3Concurrency, "pushed");
          failed += tally.failed;
          process.stdout.write(`${summary("pushed", tally, performance.now() - started)}\n`);
        }
      }
    } finally {
      stores.index.close();
    }
    if (failed > 0)
      throw new KacheError(
        `${failed} transfers failed`,
        "see the lines above; run `kache sync` again to retry",
      );
  },
});
