// `kache install-shims DIR`: a dir of symlinks named cc, c++, gcc, ... pointing at kache (SPEC §11
// masquerade mode), and the `[env]` lines that hand them to cargo's build scripts.
import { resolve } from "node:path";
import { defineCommand } from "citty";
import { describeError, KacheError } from "../util/errors";
import { ccEnvEntries, hostTriple } from "./cc-setup";
import { writeOut } from "./colour";
import { describeShims, installShims, refusalError, type ShimResult } from "./shims";
import { kacheProgram } from "./wrapper-setup";

function envHint(dir: string): string[] {
  const host = hostTriple(process.env);
  const entries = ccEnvEntries(host ?? "<host-triple>", dir);
  return [
    "",
    ...(host
      ? []
      : [
          "`rustc -vV` did not answer here, so <host-triple> below stands for its `host:` line (x86_64-unknown-linux-gnu, say).",
        ]),
    "To have cargo's build scripts (the cc crate) compile through these shims, add to ~/.cargo/config.toml:",
    "",
    "[env]",
    ...entries.map((entry) => `${entry.key} = ${JSON.stringify(entry.value)}`),
    "",
    "or run `kache init`, which does it for you. Elsewhere, set CC/CXX (or CC_<triple>/CXX_<triple>) to them.",
  ];
}

export const installShimsCommand = defineCommand({
  meta: {
    name: "install-shims",
    description: "Make DIR with cc, c++, gcc, g++, clang, clang++ symlinks to kache (C/C++ caching)",
  },
  args: {
    dir: { type: "positional", required: true, valueHint: "DIR", description: "the dir to put the shims in" },
  },
  run({ args }) {
    const program = kacheProgram();
    const dir = resolve(String(args.dir));
    let results: ShimResult[];
    try {
      results = installShims(dir, program);
    } catch (error) {
      if (error instanceof KacheError) throw error;
      throw new KacheError(
        `cannot install shims in ${dir}: ${describeError(error)}`,
        "pick a dir you can write",
      );
    }
    for (const line of describeShims(dir, results, program)) writeOut(`${line}\n`);
    const refused = refusalError(results);
    if (refused) throw refused;
    for (const line of envHint(dir)) writeOut(`${line}\n`);
  },
});
