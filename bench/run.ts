// `npm run bench [-- --rounds N]`: builds bench/workload with no cache, sccache and kache, writes bench/RESULTS.md.

import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { ccMarkdown, runCcBench } from "./cc";
import { measureDaemonFallbacks } from "./daemon-fallback";
import { eventFigures, measureStartup } from "./micro";
import { baseEnvironment, kacheMode, type Mode, noCacheMode, sccacheMode } from "./modes";
import { remoteWarmTargets } from "./remote-report";
import { measureRemoteWarm } from "./remote-warm";
import { type Context, markdown, resultTable, targetLines, targets } from "./report";
import { runRounds } from "./scenarios";
import { commandOutput, copyWorkload, ensurePackages, snapshotKache } from "./setup";

function parseRounds(argv: string[]): number {
  const index = argv.indexOf("--rounds");
  if (index === -1) return 3;
  const rounds = Number(argv[index + 1]);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds takes a whole number ≥ 1");
  return rounds;
}

function workspaceFacts(
  workspace: string,
  env: Record<string, string>,
): Pick<Context, "packages" | "members"> {
  const result = Bun.spawnSync(["cargo", "metadata", "--format-version", "1"], { cwd: workspace, env });
  if (result.exitCode !== 0) throw new Error(`cargo metadata failed: ${result.stderr.toString()}`);
  const metadata = JSON.parse(result.stdout.toString());
  const members = new Set<string>(metadata.workspace_members);
  const names = metadata.packages
    .filter((entry: { id: string }) => members.has(entry.id))
    .map((entry: { name: string }) => entry.name);
  return { packages: metadata.packages.length, members: names };
}

function load(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
}

function describeMachine(loadBefore: string): string[] {
  const memory = `${(totalmem() / 2 ** 30).toFixed(1)} GiB`;
  return [
    `machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}), ${memory} memory, ` +
      `\`${commandOutput(["uname", "-srm"])}\``,
    `load average (1, 5, 15 min): ${loadBefore} before, ${load()} after`,
  ];
}

/** Where the timed binary came from; read before the snapshot, since others may rebuild dist/kache. */
function describeKacheSource(repository: string): string {
  const commit = commandOutput(["git", "-C", repository, "rev-parse", "--short", "HEAD"]);
  // commandOutput says "unavailable" for empty output: a clean tree.
  const changes = commandOutput(["git", "-C", repository, "status", "--porcelain", "src", "build.ts"]);
  const tree = changes === "unavailable" ? "" : ", uncommitted changes in src/ or build.ts";
  const built = existsSync(join(repository, "dist", "kache"))
    ? `built ${statSync(join(repository, "dist", "kache"))
        .mtime.toISOString()
        .slice(0, 16)
        .replace("T", " ")}`
    : "built by the benchmark";
  return `dist/kache ${built}; HEAD ${commit}${tree}`;
}

function describeVersions(kache: string, source: string): string[] {
  const tool = (command: string[]) => commandOutput(command).split("\n")[0];
  return [
    `rustc: ${tool(["rustc", "-V"])}; cargo: ${tool(["cargo", "-V"])}`,
    `sccache: ${tool(["sccache", "--version"])}; bun: ${Bun.version}`,
    `kache: ${tool([kache, "--version"])} (${source})`,
  ];
}

async function main(): Promise<void> {
  const rounds = parseRounds(process.argv.slice(2));
  const repository = resolve(import.meta.dir, "..");
  ensurePackages();
  const loadBefore = load();
  const workDirectory = mkdtempSync(join(tmpdir(), "kache-bench-"));
  const modes: Mode[] = [];
  try {
    const source = describeKacheSource(repository);
    const kache = snapshotKache(repository, workDirectory);
    const copy = (name: string) => copyWorkload(repository, join(workDirectory, name));
    modes.push(noCacheMode(copy("none")));
    modes.push(sccacheMode(copy("sccache"), join(workDirectory, "sccache-cache")));
    modes.push(kacheMode(copy("kache"), join(workDirectory, "kache-cache"), kache));
    const facts = workspaceFacts(modes[0]!.workspace, baseEnvironment());
    console.log(
      `workload: ${facts.packages} packages, members ${facts.members.join(", ")}; ${rounds} rounds`,
    );
    const measurements = await runRounds(modes, rounds, repository);
    console.log("fresh machine, warm bucket");
    const remote = await measureRemoteWarm(modes[0]!, modes[2]!, kache, repository, workDirectory);
    const startup = measureStartup(kache, modes[2]!.env);
    const events = eventFigures(
      measurements.kacheWarmEvents,
      measurements.kacheDirectOffEvents,
      measurements.kacheColdEvents,
      measurements.kacheEditEvents,
    );
    const daemon = await measureDaemonFallbacks(kache, repository);
    console.log("warm rebuilds with a bundled-C -sys crate");
    const cc = await runCcBench(repository, workDirectory, kache, Math.max(5, rounds));
    const context: Context = {
      date: new Date().toISOString().slice(0, 16).replace("T", " "),
      rounds,
      machine: describeMachine(loadBefore),
      versions: describeVersions(kache, source),
      ...facts,
    };
    writeFileSync(
      join(repository, "bench", "RESULTS.md"),
      `${markdown(context, measurements, startup, events, daemon, remote)}\n${ccMarkdown(cc)}`,
    );
    console.log(`\n${resultTable(measurements)}\n`);
    const all = [
      ...targets(measurements, startup, events, daemon),
      ...remoteWarmTargets(remote, measurements),
    ];
    console.log(targetLines(all).join("\n"));
    console.log(`\n${ccMarkdown(cc)}`);
    console.log("\nwrote bench/RESULTS.md");
  } finally {
    for (const mode of modes) mode.stop();
    rmSync(workDirectory, { recursive: true, force: true });
  }
}

await main();
