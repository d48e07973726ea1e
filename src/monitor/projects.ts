// The target dirs kache stored from or restored into (found from the out dirs of the calls), and
// what each holds: its size and the share of it the store has. Measured on demand (`r`), since a
// walk of a big target dir takes a while.
import { dirname } from "node:path";
import {
  isCargoTargetDir,
  measureTargetDir,
  readStoreBlobs,
  type StoreBlobs,
  type TargetDir,
} from "../cli/target-dirs";

export interface Project {
  path: string;
  lastUsed: number;
  measured: TargetDir | null;
}

export class Projects {
  private readonly roots = new Map<string, string | null>();
  private measured = new Map<string, TargetDir>();
  scannedAt = 0;
  scanning = false;

  /** The target dir holding an out dir (`target/debug/deps`, `target/<triple>/release/build/x/out`). */
  private targetOf(outDir: string): string | null {
    const known = this.roots.get(outDir);
    if (known !== undefined) return known;
    let found: string | null = null;
    for (let dir = outDir; dirname(dir) !== dir; dir = dirname(dir))
      if (isCargoTargetDir(dir)) {
        found = dir;
        break;
      }
    this.roots.set(outDir, found);
    return found;
  }

  /** The target dirs of these out dirs (out dir -> newest use), most recently used first. */
  list(outDirs: Map<string, number>): Project[] {
    const byTarget = new Map<string, number>();
    for (const [outDir, time] of outDirs) {
      const target = this.targetOf(outDir);
      if (target) byTarget.set(target, Math.max(byTarget.get(target) ?? 0, time));
    }
    return [...byTarget]
      .sort((a, b) => b[1] - a[1])
      .map(([path, lastUsed]) => ({ path, lastUsed, measured: this.measured.get(path) ?? null }));
  }

  /** Measures every listed target dir (reading the store's blobs once, and only if a file needs it). */
  scan(outDirs: Map<string, number>): void {
    let blobs: StoreBlobs | null = null;
    const storeBlobs = () => {
      blobs ??= readStoreBlobs(this.cacheDir);
      return blobs;
    };
    const measured = new Map<string, TargetDir>();
    for (const project of this.list(outDirs)) {
      try {
        measured.set(project.path, measureTargetDir(project.path, storeBlobs));
      } catch {
        // removed since (cargo clean): left out until it is built again
      }
    }
    this.measured = measured;
    this.scannedAt = Date.now();
  }

  constructor(private readonly cacheDir: string) {}
}
