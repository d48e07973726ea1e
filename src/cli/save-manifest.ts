// `kache save-manifest [--namespace NS] [--manifest-path P]`: records the crates and keys the
// workspace's last build used as one object in the bucket (uploading any the bucket lacks), so a
// prefetch on another machine pulls exactly those, most expensive first.

import { dirname, join, resolve, sep } from "node:path";
import { defineCommand } from "citty";
import { DEFAULT_NAMESPACE, NAMESPACE, type SavedEntry, saveNamespace } from "../remote/namespaces";
import { pushEntry, remoteTemp } from "../remote/transfer";
import { KacheError } from "../util/errors";
import { formatBytes } from "../util/size";
import { settingsOrExit } from "./cli-settings";
import { writeOut } from "./colour";
import { readHistory } from "./history";
import { findLockfile } from "./lockfile-crates";
import { openRemoteSession } from "./remote-session";

const USED = new Set(["miss", "local hit", "remote hit", "prefetch hit"]);

/** The key each unit of the target dir last built or restored, from the event log. */
function lastKeys(cacheDir: string, targetDir: string): Map<string, { crate: string; key: string }> {
  const units = new Map<string, { crate: string; key: string }>();
  for (const event of readHistory(cacheDir)) {
    if (!event.key || !event.crate || !USED.has(event.outcome)) continue;
    if (!event.outDir || !`${event.outDir}${sep}`.startsWith(`${targetDir}${sep}`)) continue;
    units.set(`${event.crate}\0${event.outDir}`, { crate: event.crate, key: event.key });
  }
  return units;
}

export const saveManifestCommand = defineCommand({
  meta: {
    name: "save-manifest",
    description: "Record the workspace's crates and keys in the bucket, for prefetch",
  },
  args: {
    namespace: { type: "string", description: `name of the saved manifest (default: ${DEFAULT_NAMESPACE})` },
    "manifest-path": {
      type: "string",
      description: "the workspace's Cargo.toml (default: found from the cwd)",
    },
  },
  async run({ args }) {
    const settings = settingsOrExit();
    const name = args.namespace ?? DEFAULT_NAMESPACE;
    if (!NAMESPACE.test(name))
      throw new KacheError(`not a namespace name: ${name}`, "use letters, digits, '.', '_' and '-'");
    const lockfile = findLockfile(process.cwd(), args["manifest-path"]);
    if (!lockfile)
      throw new KacheError("no Cargo.lock found", "run it inside a built workspace, or pass --manifest-path");
    const workspace = dirname(lockfile);
    const targetDir = resolve(process.cwd(), process.env.CARGO_TARGET_DIR ?? join(workspace, "target"));
    const { remote, stores } = await openRemoteSession(settings);
    const { index } = stores;
    try {
      if (settings.remote.readOnly)
        throw new KacheError("the remote is read-only", "unset KACHE_REMOTE_READ_ONLY to save a manifest");
      const entries: SavedEntry[] = [];
      let uploaded = 0;
      for (const { crate, key } of lastKeys(settings.cacheDir, targetDir).values()) {
        const entry = index.getEntry(key);
        if (!entry || entry.boundTo || entries.some((saved) => saved.key === key)) continue; // gone, or local-only
        uploaded += await pushEntry(remote, settings.remote, entry, stores, settings.compressionLevel);
        entries.push({ crate, key, size: entry.size, compileMs: entry.compileMs });
      }
      if (entries.length === 0)
        throw new KacheError(
          `no cached units found for ${targetDir}`,
          "build the workspace through kache first",
        );
      await saveNamespace(
        remote,
        settings.remote,
        name,
        { format: 1, created: Date.now(), workspace: workspace.split(sep).pop() ?? "", entries },
        remoteTemp(settings.cacheDir, ".json"),
      );
      writeOut(
        `saved ${name}: ${entries.length} units (${formatBytes(entries.reduce((sum, entry) => sum + entry.size, 0))}); uploaded ${formatBytes(uploaded)} the bucket lacked\n`,
      );
    } finally {
      index.close();
    }
  },
});
