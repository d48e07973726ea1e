// Entry point: C/C++ wrapper mode when argv names a C compiler, Rust wrapper mode when it names
// rustc, CLI mode otherwise (or a background store a wrapper started). Nothing else happens here.
import { ccInvocation } from "./cc/detect";
import { STORE_JOB_COMMAND } from "./command-names";
import { isWrapperInvocation } from "./wrapper/detect";

const args = process.argv.slice(2);
const cc = ccInvocation(process.argv0, args);
if (cc) {
  const { runCc } = await import("./cc/run-cc");
  await runCc(cc);
} else if (args[0] === STORE_JOB_COMMAND) {
  const { runStoreJob } = await import("./wrapper/run-store-job");
  await runStoreJob(args[1] ?? "");
} else if (isWrapperInvocation(args)) {
  const { runWrapper } = await import("./wrapper/run-wrapper");
  await runWrapper(args);
} else {
  const { runCli } = await import("./cli/run-cli");
  await runCli(args);
}
