// Runs the real compiler: pass-through with inherited stdio, or streamed to cargo while captured for replay.
import { fstatSync } from "node:fs";
import { writeAllSync } from "../util/write-all";

export interface CapturedRun {
  exitCode: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

type StdioSlot = "inherit" | "pipe" | "ignore" | number;

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * Cargo hands rustc its jobserver as inherited fds named in CARGO_MAKEFLAGS; Bun passes only
 * fds 0-2 unless told, so the same fds are listed again at the same positions.
 */
export function withJobserverFds(
  first3: StdioSlot[],
  env: Record<string, string | undefined> = process.env,
): StdioSlot[] {
  const flags = env.CARGO_MAKEFLAGS ?? env.MAKEFLAGS ?? "";
  const match = /--jobserver-(?:fds|auth)=(\d+),(\d+)/.exec(flags);
  if (!match) return first3;
  // Only fds that are open here: a process started outside cargo (the daemon's `cargo metadata`, a
  // test) may carry cargo's variable without its fds, and Bun refuses to pass a closed fd.
  const fds = new Set([Number(match[1]), Number(match[2])].filter(isOpen));
  if (fds.size === 0) return first3;
  const stdio = [...first3];
  for (let fd = 3; fd <= Math.max(...fds); fd++) stdio.push(fds.has(fd) ? fd : "ignore");
  return stdio;
}

/** What cargo is shown of the compiler's output, when it differs from what the store keeps. */
export type Shown = (text: string) => string;

/** Passes output on line by line through `shown`: a chunk may end inside a path. */
function lineEcho(fd: number, shown: Shown): { write(chunk: Uint8Array): void; end(): void } {
  const decoder = new TextDecoder();
  let pending = "";
  return {
    write(chunk) {
      pending += decoder.decode(chunk, { stream: true });
      const cut = pending.lastIndexOf("\n") + 1;
      if (cut === 0) return;
      writeAllSync(fd, shown(pending.slice(0, cut)));
      pending = pending.slice(cut);
    },
    end() {
      pending += decoder.decode();
      if (pending) writeAllSync(fd, shown(pending));
      pending = "";
    },
  };
}

async function pump(
  stream: ReadableStream<Uint8Array>,
  fd: number | null,
  chunks: Uint8Array[],
  shown: Shown | undefined,
): Promise<void> {
  const echo = fd !== null && shown ? lineEcho(fd, shown) : null;
  for await (const chunk of stream) {
    chunks.push(chunk);
    if (echo) echo.write(chunk);
    else if (fd !== null) writeAllSync(fd, chunk);
  }
  echo?.end();
}

export type ProcessEnv = Record<string, string | undefined>;

/**
 * `echo: false` holds the output back: the caller decides whether cargo ever sees it. `shown`
 * turns what cargo sees back into this machine's paths; the captured output stays as rustc wrote it.
 */
export async function runCaptured(
  cmd: string[],
  cwd: string,
  env?: ProcessEnv,
  { echo = true, shown }: { echo?: boolean; shown?: Shown } = {},
): Promise<CapturedRun> {
  const started = performance.now();
  const stdio = withJobserverFds(["inherit", "pipe", "pipe"]) as never;
  const child = Bun.spawn({ cmd, cwd, env, stdio });
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const streams = child as unknown as {
    stdout: ReadableStream<Uint8Array>;
    stderr: ReadableStream<Uint8Array>;
  };
  await Promise.all([
    pump(streams.stdout, echo ? 1 : null, out, shown),
    pump(streams.stderr, echo ? 2 : null, err, shown),
    child.exited,
  ]);
  return {
    exitCode: child.exitCode ?? 1,
    signal: child.signalCode ? String(child.signalCode) : null,
    stdout: Buffer.concat(out).toString("utf8"),
    stderr: Buffer.concat(err).toString("utf8"),
    ms: performance.now() - started,
  };
}

/** Runs the compiler exactly as given, sharing our stdio; returns its exit status. */
export function runPassthrough(
  cmd: string[],
  cwd: string,
  env?: ProcessEnv,
): { exitCode: number; signal: string | null } {
  const result = Bun.spawnSync({
    cmd,
    cwd,
    env,
    stdio: withJobserverFds(["inherit", "inherit", "inherit"]) as never,
  });
  return { exitCode: result.exitCode ?? 1, signal: result.signalCode ? String(result.signalCode) : null };
}

/** Ends this process the way the compiler ended: same exit code, or the same signal. */
export function exitLike(status: { exitCode: number; signal: string | null }): never {
  if (status.signal) {
    try {
      process.kill(process.pid, status.signal as NodeJS.Signals);
    } catch {
      // fall through to a plain exit
    }
    process.exit(128 + 1);
  }
  process.exit(status.exitCode);
}
