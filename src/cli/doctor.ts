// `kache doctor [--fix [--purge-sccache]] [--verify] [--json]`: one line per check of the set-up, the
// store, the daemon and the remote; `--fix` repairs what it can; exit 1 while a problem remains.
import { defineCommand } from "citty";
import { loadSettings } from "../config/load";
import { describeError, KacheError } from "../util/errors";
import { ccCheck } from "./cc-setup";
import { type Check, type FixableCheck, hasProblem, printChecks } from "./check-report";
import { cacheDirCheck, configChecks, daemonCheck, remoteCheck, storeLogCheck } from "./doctor-checks";
import { storeChecks } from "./doctor-store";
import { sccacheCheck, wrapperCheck } from "./setup-checks";

async function runChecks(options: { verify: boolean; purgeSccache: boolean }): Promise<FixableCheck[]> {
  const loaded = loadSettings();
  const { settings } = loaded;
  const context = { env: process.env, cwd: process.cwd(), purgeSccache: options.purgeSccache };
  // sccache before the wrapper: purging it is what lets the wrapper fix name kache.
  return [
    sccacheCheck(context),
    wrapperCheck(context),
    ccCheck(settings.cacheDir, context.env, context.cwd, "warn"),
    ...configChecks(loaded),
    cacheDirCheck(settings.cacheDir),
    ...storeChecks(settings.cacheDir, options.verify),
    storeLogCheck(settings.cacheDir),
    await daemonCheck(settings),
    await remoteCheck(settings),
  ];
}

/** Runs each repair in order; a repair that fails leaves its check as it was, saying why. */
async function applyFixes(checks: FixableCheck[]): Promise<Check[]> {
  const results: Check[] = [];
  for (const item of checks) {
    const { fix, ...plain } = item;
    if (!fix || item.status === "ok") {
      results.push(plain);
      continue;
    }
    try {
      results.push({ ...plain, status: "fixed", detail: await fix(), hint: "" });
    } catch (error) {
      results.push({ ...plain, detail: `${plain.detail}; could not fix it: ${describeError(error)}` });
    }
  }
  return results;
}

export const doctorCommand = defineCommand({
  meta: {
    name: "doctor",
    description: "Check the set-up, the store, the daemon and the remote; --fix repairs",
  },
  args: {
    fix: {
      type: "boolean",
      description: "repair what can be repaired (damaged entries, modes, the wrapper, the C/C++ shims)",
    },
    "purge-sccache": { type: "boolean", description: "with --fix: take sccache out of ~/.cargo/config.toml" },
    verify: { type: "boolean", description: "re-hash every blob and check every entry's blobs" },
    json: {
      type: "boolean",
      description: "print the checks as a JSON array of {name, status, detail, hint}",
    },
  },
  async run({ args }) {
    const purgeSccache = Boolean(args["purge-sccache"]);
    if (purgeSccache && !args.fix)
      throw new KacheError(
        "--purge-sccache only works with --fix",
        "run `kache doctor --fix --purge-sccache`",
        2,
      );
    const checks = await runChecks({ verify: Boolean(args.verify), purgeSccache });
    const results = args.fix ? await applyFixes(checks) : checks.map(({ fix: _, ...plain }) => plain);
    printChecks(results, Boolean(args.json));
    process.exit(hasProblem(results) ? 1 : 0);
  },
});
