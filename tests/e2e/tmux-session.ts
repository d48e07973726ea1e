// A real pseudo-terminal for e2e tests of interactive commands: a detached tmux session on a private
// socket, driven with send-keys and read with capture-pane.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeScript } from "./compiler-support";
import { makeTempDir } from "./harness";

export interface TmuxSession {
  /** Keys as tmux names them (`Down`, `Enter`, `BSpace`). */
  keys(...names: string[]): void;
  /** Literal text, typed as it is. */
  type(text: string): void;
  /** What the terminal shows now. */
  screen(): string;
  /** The same with its colours and attributes as escape sequences. */
  styledScreen(): string;
  /** Waits until the screen shows `text` (or matches it); throws with the screen after `timeoutMs`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Resizes the terminal, as a user dragging the window would. */
  resize(columns: number, rows: number): void;
  /** A tmux format of the pane, e.g. `#{alternate_on} #{cursor_flag}`. */
  display(format: string): string;
  /** The pid of the command (a child of the pane's shell), or null once it has exited. */
  commandPid(): number | null;
  /** Ends the session and its tmux server (ours alone: a private socket). */
  close(): void;
}

export interface TmuxOptions {
  columns?: number;
  rows?: number;
}

/**
 * Runs `command` (argv) with exactly `env` in a terminal of 120x35 unless told otherwise. When it exits, the screen shows
 * `EXIT=<code>` and stays readable until `close()`.
 */
export function startTmux(
  command: string[],
  env: Record<string, string>,
  cwd: string,
  { columns = 120, rows = 35 }: TmuxOptions = {},
): TmuxSession {
  const dir = makeTempDir("kache-e2e-tmux-");
  const socket = join(dir, "socket");
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  const assignments = Object.entries({ TERM: "xterm-256color", ...env }).map(
    ([name, value]) => `${name}=${quote(value)}`,
  );
  const script = writeScript(join(dir, "run.sh"), [
    "#!/bin/sh",
    `cd ${quote(cwd)} || exit 1`,
    `env -i ${assignments.join(" ")} ${command.map(quote).join(" ")}`,
    'echo "EXIT=$?"',
    "sleep 600",
  ]);
  const tmux = (...args: string[]) => {
    const run = Bun.spawnSync(["tmux", "-S", socket, ...args], { stdout: "pipe", stderr: "pipe" });
    if (run.exitCode !== 0) throw new Error(`tmux ${args[0]} failed: ${run.stderr.toString()}`);
    return run.stdout.toString();
  };
  tmux("new-session", "-d", "-s", "test", "-x", String(columns), "-y", String(rows), script);
  // A detached session otherwise sizes its window to the smallest client: none, so keep ours.
  tmux("set-option", "-t", "test", "window-size", "manual");
  const session: TmuxSession = {
    keys: (...names) => void tmux("send-keys", "-t", "test", ...names),
    type: (text) => void tmux("send-keys", "-t", "test", "-l", text),
    screen: () => tmux("capture-pane", "-t", "test", "-p"),
    styledScreen: () => tmux("capture-pane", "-t", "test", "-p", "-e"),
    async waitFor(text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const screen = session.screen();
        if (typeof text === "string" ? screen.includes(text) : text.test(screen)) return screen;
        if (Date.now() > deadline) throw new Error(`the terminal never showed "${text}":\n${screen}`);
        await Bun.sleep(50);
      }
    },
    resize(width, height) {
      tmux("resize-window", "-t", "test", "-x", String(width), "-y", String(height));
    },
    display: (format) => tmux("display-message", "-p", "-t", "test", format).trimEnd(),
    commandPid() {
      const shell = session.display("#{pane_pid}");
      const children = readFileSync(`/proc/${shell}/task/${shell}/children`, "utf8").trim();
      const pid = Number(children.split(" ")[0]);
      if (!pid) return null;
      // Past the command, the shell runs `sleep` to keep the screen readable.
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep") ? null : pid;
    },
    close() {
      Bun.spawnSync(["tmux", "-S", socket, "kill-server"], { stdout: "ignore", stderr: "ignore" });
    },
  };
  return session;
}
