// `-march=native` (and `-mtune`, `-mcpu`) names another CPU on every machine: the key takes what the
// compiler's driver turns it into here, so a shared store never hands one CPU's instructions to another.
import type { IndexDb } from "../store/index-db";
import { hashParts } from "../util/hash";
import { machineId } from "../wrapper/native-cpu";

const NATIVE = /^-m(?:arch|tune|cpu)=native$/;

/** The call's flags that ask for this machine's CPU. */
export function nativeFlags(args: string[]): string[] {
  return args.filter((arg) => NATIVE.test(arg));
}

/** The words of a command line as `-###` prints it: quoted or bare. */
function words(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((match) => match[1] ?? match[2]!);
}

/**
 * What the driver passes its compiler proper for `native` on this machine (gcc's `cc1` line, clang's
 * `-cc1`, from `-###`), paths left out; memoised per compiler and boot.
 */
export function resolveNative(
  index: IndexDb,
  compiler: { path: string; version: string },
  native: string[],
  target: string | null,
): string {
  const name = `cc-native|${hashParts([compiler.path, compiler.version, ...native, target ?? "", machineId()])}`;
  return index.memoOnce(name, () => {
    const cmd = [compiler.path, ...native, "-###", "-E", "-x", "c", "/dev/null"];
    const result = Bun.spawnSync({ cmd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const printed = result.stderr.toString();
    const line = printed.split("\n").find((text) => /\bcc1\b|"-cc1"/.test(text));
    if (!result.success || !line) throw new Error(`${cmd.join(" ")} did not show what native means here`);
    return words(line)
      .filter((word) => !word.includes("/"))
      .join(" ");
  });
}
