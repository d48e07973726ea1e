// A private (0700, unpredictable) temp dir for one call's side files, made on first use.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export class ScratchDir {
  private dir: string | null = null;

  /** A path inside the dir; nobody else can have created or swapped it. */
  file(name: string): string {
    this.dir ??= mkdtempSync(join(tmpdir(), "kache-"));
    return join(this.dir, name);
  }

  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}
