// The first link with a compiler, linker and flags kache has not seen: compiled at once with the
// input-list flag most linkers take, instead of probing with an empty program first (150-200 ms on
// the critical path of every cold cache's first build script). Its output is held back until the
// link shows whether the linker accepted the flag, so a flag it refused never reaches cargo.
import { existsSync } from "node:fs";
import { describeError } from "../util/errors";
import { log } from "../util/log";
import { writeAllSync } from "../util/write-all";
import { type CapturedRun, runCaptured, type Shown } from "./compiler-process";
import type { KeyPlan, Stores } from "./compute-key";
import { readLinkList } from "./link-inputs";
import { probeLinkListStyle, rememberLinkListStyle } from "./link-probe";

function listWritten(plan: KeyPlan): boolean {
  try {
    return (
      plan.linkList !== null &&
      existsSync(plan.linkList) &&
      readLinkList(plan.linkStyle, plan.linkList).length > 0
    );
  } catch {
    return false;
  }
}

function release(run: CapturedRun, shown: Shown): void {
  writeAllSync(1, shown(run.stdout));
  writeAllSync(2, shown(run.stderr));
}

/** The probe's answer, or the style tried when the probe itself failed (the compile's result then stands). */
function probedStyle(plan: KeyPlan, stores: Stores) {
  const { inv, ctx } = plan;
  try {
    return probeLinkListStyle(
      stores.index,
      ctx.compiler,
      inv.compiler,
      ctx.linkerVersion ?? "",
      inv.args,
      inv.cwd,
    );
  } catch (error) {
    log.debug(`could not probe the linker: ${describeError(error)}`);
    return plan.linkStyle;
  }
}

/**
 * Compiles a link whose input-list style is untried. Null when no style works with this linker:
 * nothing was passed on to cargo, and the caller compiles the call again without kache's flags.
 */
export async function compileTryingLinkStyle(
  plan: KeyPlan,
  stores: Stores,
  command: (plan: KeyPlan) => string[],
  shown: Shown,
): Promise<CapturedRun | null> {
  const { inv, ctx } = plan;
  const run = await runCaptured(command(plan), inv.cwd, undefined, { echo: false });
  const succeeded = run.exitCode === 0 && run.signal === null;
  if (succeeded && listWritten(plan)) {
    try {
      rememberLinkListStyle(stores.index, ctx.compiler, ctx.linkerVersion ?? "", inv.args, plan.linkStyle);
    } catch (error) {
      log.debug(`could not remember the link style: ${describeError(error)}`);
    }
    plan.linkStyleUntried = false;
    release(run, shown);
    return run;
  }
  if (run.signal !== null) {
    release(run, shown); // stopped from outside (cargo cancelling the build): nothing to learn
    return run;
  }
  if (succeeded) {
    // The linker ignored the flag: this link's inputs are unknown, so it is not cached.
    plan.linkList = null;
    probedStyle(plan, stores);
    release(run, shown);
    return run;
  }
  const style = probedStyle(plan, stores);
  if (style === plan.linkStyle) {
    release(run, shown); // the flag works: the compile failed on its own
    return run;
  }
  log.debug(`${inv.args.crateName}: the linker refused ${plan.linkStyle}; compiling again with ${style}`);
  if (style === "none") return null;
  plan.linkStyle = style;
  plan.linkStyleUntried = false;
  return runCaptured(command(plan), inv.cwd, undefined, { shown });
}
