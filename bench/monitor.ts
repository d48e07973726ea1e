// `bun bench/monitor.ts [--minutes N]`: what `kache monitor` costs. Its start-up (spawn to the
// first screen with the Build tab's rows, in tmux) beside `kache --version`'s; then, for N minutes
// (default 10) of builds of bench/workload with the monitor open, its memory each minute and its CPU
// time, and warm builds timed with the monitor running and paused (SIGSTOP) in turns.

import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { kacheMode } from "./modes";
import { copyWorkload, ensurePackages, snapshotKache } from "./setup";
import { formatMilliseconds, median, ratio } from "./stats";

const repository = resolve(import.meta.dir, "..");
const minutesIndex = process.argv.indexOf("--minutes");
const minutes = minutesIndex === -1 ? 10 : Number(process.argv[minutesIndex + 1]);
if (!Number.isFinite(minutes) || minutes <= 0) throw new Error("--minutes takes a number > 0");

interface Session {
  screen(): string;
  pid(): number;
  keys(...names: string[]): void;
  close(): void;
}

function tmux(socket: string, ...args: string[]): string {
  const run = Bun.spawnSync(["tmux", "-S", socket, ...args], { stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`tmux ${args[0]}: ${run.stderr.toString()}`);
  return run.stdout.toString();
}

function openSession(work: string, command: string[], env: Record<string, string>): Session {
  const socket = join(mkdtempSync(join(work, "tmux-")), "socket");
  const assignments = Object.entries({ ...env, TERM: "xterm-256color" }).map(
    ([name, value]) => `${name}='${value.replaceAll("'", `'\\''`)}'`,
  );
  tmux(
    socket,
    "new-session",
    "-d",
    "-s",
    "bench",
    "-x",
    "120",
    "-y",
    "35",
    `env -i ${assignments.join(" ")} ${command.join(" ")}; sleep 600`,
  );
  return {
    screen: () => tmux(socket, "capture-pane", "-t", "bench", "-p"),
    pid() {
      const shell = tmux(socket, "display-message", "-p", "-t", "bench", "#{pane_pid}").trim();
      return Number(readFileSync(`/proc/${shell}/task/${shell}/children`, "utf8").trim().split(" ")[0]);
    },
    keys: (...names) => void tmux(socket, "send-keys", "-t", "bench", ...names),
    close: () =>
      void Bun.spawnSync(["tmux", "-S", socket, "kill-server"], { stdout: "ignore", stderr: "ignore" }),
  };
}

/** Milliseconds from starting `command` in a fresh terminal until its screen matches `shown`. */
async function timeToScreen(work: string, command: string[], env: Record<string, string>, shown: RegExp) {
  const started = performance.now();
  const session = openSession(work, command, env);
  try {
    for (;;) {
      if (shown.test(session.screen())) return performance.now() - started;
      if (performance.now() - started > 20_000)
        throw new Error(`never showed ${shown}:\n${session.screen()}`);
      await Bun.sleep(2);
    }
  } finally {
    session.close();
  }
}

function processFigures(pid: number): { rssKb: number; peakKb: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(stat[11]) + Number(stat[12]);
  return { rssKb: field("VmRSS"), peakKb: field("VmHWM"), cpuMs: ticks * 10 };
}

function build(workspace: string, env: Record<string, string>): number {
  const started = performance.now();
  const run = Bun.spawnSync(["cargo", "build"], { cwd: workspace, env, stdout: "ignore", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`cargo build failed: ${run.stderr.toString()}`);
  return performance.now() - started;
}

ensurePackages();
const work = mkdtempSync(join(tmpdir(), "kache-bench-monitor-"));
try {
  const kache = snapshotKache(repository, work);
  const workspace = copyWorkload(repository, join(work, "workload"));
  const mode = kacheMode(workspace, join(work, "cache"), kache);
  mode.resetCache();
  console.log(`cold build to fill the store: ${formatMilliseconds(build(workspace, mode.env))}`);

  const startups: number[] = [];
  const versions: number[] = [];
  for (let run = 0; run < 7; run++) {
    versions.push(await timeToScreen(work, [kache, "--version"], mode.env, /kache \d/));
    startups.push(await timeToScreen(work, [kache, "monitor"], mode.env, /\d+-\d+ of \d+/));
  }
  console.log(
    `start-up to the first screen with rows: monitor ${formatMilliseconds(median(startups))}, kache --version ${formatMilliseconds(median(versions))} (medians of 7, tmux 120x35)`,
  );

  const monitor = openSession(work, [kache, "monitor"], mode.env);
  try {
    await Bun.sleep(1000);
    const pid = monitor.pid();
    const first = processFigures(pid);
    console.log(`monitor pid ${pid}: ${(first.rssKb / 1024).toFixed(1)} MiB resident after 1 s`);
    const withMonitor: number[] = [];
    const paused: number[] = [];
    const deadline = Date.now() + minutes * 60_000;
    let nextReport = Date.now() + 60_000;
    for (let round = 1; Date.now() < deadline; round++) {
      // A miss and a link in every round, as in an edit loop, then a warm rebuild timed both ways.
      appendFileSync(
        join(workspace, "ledger", "src", "account.rs"),
        `\npub fn bench_monitor_${round}() -> u32 { ${round} }\n`,
      );
      build(workspace, mode.env);
      const running = round % 2 === 0;
      if (!running) process.kill(pid, "SIGSTOP");
      rmSync(join(workspace, "target"), { recursive: true, force: true });
      (running ? withMonitor : paused).push(build(workspace, mode.env));
      if (!running) process.kill(pid, "SIGCONT");
      if (Date.now() >= nextReport) {
        const now = processFigures(pid);
        console.log(
          `  after ${Math.round((Date.now() - (deadline - minutes * 60_000)) / 60_000)} min: ${(now.rssKb / 1024).toFixed(1)} MiB resident, CPU ${formatMilliseconds(now.cpuMs - first.cpuMs)}`,
        );
        nextReport += 60_000;
      }
    }
    const last = processFigures(pid);
    const events = readFileSync(join(work, "cache", "events.jsonl"), "utf8").split("\n").length - 1;
    console.log(
      `after ${minutes} min (${events} events in the log): ${(last.rssKb / 1024).toFixed(1)} MiB resident (peak ${(last.peakKb / 1024).toFixed(1)} MiB), CPU ${formatMilliseconds(last.cpuMs - first.cpuMs)} (${((last.cpuMs - first.cpuMs) / (minutes * 600)).toFixed(2)}% of one core)`,
    );
    console.log(
      `warm rebuild with the monitor running ${formatMilliseconds(median(withMonitor))} (n=${withMonitor.length}), paused ${formatMilliseconds(median(paused))} (n=${paused.length}): ${ratio(median(withMonitor), median(paused)).toFixed(3)}x`,
    );
    monitor.keys("q");
  } finally {
    monitor.close();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
