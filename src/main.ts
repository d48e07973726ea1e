// Entry point: wrapper mode when argv names a compiler, CLI mode otherwise. Nothing else happens here.
import { isWrapperInvocation } from "./wrapper/detect";

const args = process.argv.slice(2);
if (isWrapperInvocation(args)) {
  const { runWrapper } = await import("./wrapper/run-wrapper");
  await runWrapper(args);
} else {
  const { runCli } = await import("./cli/run-cli");
  await runCli(args);
}
