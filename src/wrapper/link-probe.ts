// Which form of "write your input list" this linker set-up accepts, memoised per compiler, linker
// and flags: learnt from the first real link that wrote its list, or by linking an empty program
// with the same linker choices when a link with the likely form failed.
import { existsSync } from "node:fs";
import type { IndexDb } from "../store/index-db";
import { hashParts } from "../util/hash";
import { ScratchDir } from "../util/scratch-dir";
import { candidateStyles, type LinkListStyle, linkListArgs, readLinkList } from "./link-inputs";
import type { RustcArgs } from "./rustc-args";
import type { CompilerIdentity } from "./tool-identity";

/** Link-args that pick the linker program rather than change what it links. */
const LINKER_CHOICE = /(^|\s)(-fuse-ld=|-B|--ld-path=)/;

/** The flags of this call that decide which linker runs, and how. */
export function linkerChoiceFlags(args: RustcArgs): string[] {
  const flags: string[] = [];
  if (args.target) flags.push("--target", args.target);
  for (const [key, value] of args.codegen) {
    const picksLinker = ["linker", "linker-flavor", "link-self-contained"].includes(key);
    if (picksLinker || (key.startsWith("link-arg") && LINKER_CHOICE.test(value)))
      flags.push("-C", `${key}=${value}`);
  }
  // otherFlags hold `-Z=<option>` and `--sysroot=<dir>`; rustc takes `-Z<option>` and `--sysroot=<dir>`.
  for (const flag of args.otherFlags) {
    if (flag.startsWith("-Z=") && flag.includes("link")) flags.push(`-Z${flag.slice(3)}`);
    if (flag.startsWith("--sysroot=")) flags.push(flag);
  }
  return flags;
}

function probeStyle(compiler: string, flags: string[], style: LinkListStyle, cwd: string): boolean {
  const scratch = new ScratchDir();
  try {
    const list = scratch.file("probe.d");
    const result = Bun.spawnSync({
      cmd: [compiler, "-", "--crate-name", "kache_link_probe", "--crate-type", "bin", "--emit=link"].concat([
        "-o",
        scratch.file("probe"),
        ...flags,
        ...linkListArgs(style, list),
      ]),
      cwd,
      stdin: Buffer.from("fn main() {}\n"),
      stdout: "ignore",
      stderr: "ignore",
    });
    return result.success && existsSync(list) && readLinkList(style, list).length > 0;
  } catch {
    return false;
  } finally {
    scratch.remove();
  }
}

function styleMemoName(identity: CompilerIdentity, linkerVersion: string, args: RustcArgs): string {
  const flags = linkerChoiceFlags(args);
  return `link-list-style|${hashParts([identity.version, identity.sysroot, linkerVersion, process.platform, ...flags])}`;
}

/** The style found before for this compiler, linker and flags; null when none was found yet. */
export function knownLinkListStyle(
  index: IndexDb,
  identity: CompilerIdentity,
  linkerVersion: string,
  args: RustcArgs,
): LinkListStyle | null {
  return index.getMemo(styleMemoName(identity, linkerVersion, args)) as LinkListStyle | null;
}

/** The style most linkers of this target accept: a first link tries it and so needs no probe. */
export function likelyLinkListStyle(identity: CompilerIdentity, args: RustcArgs): LinkListStyle {
  return candidateStyles(args.target ?? identity.host)[0]!;
}

/** A real link wrote its input list with `style`: that answers the probe for every later link. */
export function rememberLinkListStyle(
  index: IndexDb,
  identity: CompilerIdentity,
  linkerVersion: string,
  args: RustcArgs,
  style: LinkListStyle,
): void {
  index.setMemo(styleMemoName(identity, linkerVersion, args), style);
}

/** The style this linker set-up accepts, probed by linking an empty program once ("none": no form works). */
export function probeLinkListStyle(
  index: IndexDb,
  identity: CompilerIdentity,
  compiler: string,
  linkerVersion: string,
  args: RustcArgs,
  cwd: string,
): LinkListStyle {
  const flags = linkerChoiceFlags(args);
  const target = args.target ?? identity.host;
  return index.memoOnce(
    styleMemoName(identity, linkerVersion, args),
    () => candidateStyles(target).find((candidate) => probeStyle(compiler, flags, candidate, cwd)) ?? "none",
  ) as LinkListStyle;
}
