// A private (0700, unpredictable) temp dir for one call's side files, made on first use. A call
// interrupted by the terminal (Ctrl-C reaches every process of the build) removes its dirs on the
// way out; only a SIGKILL can leave one behind.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const live = new Set<string>();
let watching = false;

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** On a signal: the dirs go, then the process dies of that signal as it would have. */
function watchSignals(): void {
  if (watching) return;
  watching = true;
  for (const signal of SIGNALS)
    process.once(signal, () => {
      for (const dir of live) rmSync(dir, { recursive: true, force: true });
      live.clear();
      process.kill(process.pid, signal);
      process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
}

export class ScratchDir {
  private dir: string | null = null;

  /** A path inside the dir; nobody else can have created or swapped it. */
  file(name: string): string {
    if (!this.dir) {
      watchSignals();
      this.dir = mkdtempSync(join(tmpdir(), "kache-"));
      live.add(this.dir);
    }
    return join(this.dir, name);
  }

  remove(): void {
    if (!this.dir) return;
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this.dir);
    this.dir = null;
  }
}
