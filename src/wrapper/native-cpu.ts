// `-C target-cpu=native` names a different CPU on every machine: resolve it to this one's CPU and
// feature list, so a shared store never hands one machine's instructions to another.
import { readFileSync } from "node:fs";
import { cpus, hostname } from "node:os";
import type { IndexDb } from "../store/index-db";
import { hashParts } from "../util/hash";
import type { CompilerIdentity } from "./tool-identity";

/** Changes whenever the process may be on another machine (a cache restored elsewhere, a reboot). */
export function machineId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return `${hostname()}|${cpus()[0]?.model ?? ""}`;
  }
}

function print(compiler: string, what: string, target: string | null): string {
  const cmd = [compiler, "--print", what, "-C", "target-cpu=native", ...(target ? ["--target", target] : [])];
  const result = Bun.spawnSync({ cmd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  if (!result.success) throw new Error(`${cmd.join(" ")} failed: ${result.stderr.toString().trim()}`);
  return result.stdout.toString();
}

/** `<cpu>;<feature>,<feature>...` for `target-cpu=native` on this machine, memoised per boot. */
export function resolveNativeCpu(
  index: IndexDb,
  compiler: string,
  identity: CompilerIdentity,
  target: string | null,
): string {
  const name = `native-cpu|${hashParts([identity.version, target ?? identity.host, machineId()])}`;
  return index.memoOnce(name, () => {
    const cpu = /\(currently ([^)]+)\)/.exec(print(compiler, "target-cpus", target))?.[1] ?? "unknown";
    const features = [...print(compiler, "cfg", target).matchAll(/^target_feature="([^"]+)"$/gm)]
      .map((match) => match[1]!)
      .sort();
    return `${cpu};${features.join(",")}`;
  });
}
