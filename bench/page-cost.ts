// What writing new files costs this machine's memory: the same bytes written right after freeing as
// many, and again after memory sat idle. On a VM that hands idle free pages back to its host (free
// page reporting), the second costs far more system time: each page must come back from the host.
// A fresh machine writes its whole store into new pages; a local warm rebuild mostly hardlinks.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PageCost {
  megabytes: number;
  idleSeconds: number;
  /** Written into pages freed a moment before. */
  reused: { ms: number; systemSeconds: number };
  /** Written after `idleSeconds` with that memory free. */
  afterIdle: { ms: number; systemSeconds: number };
}

const CHUNK = 4 << 20;

/** Writes `bytes` as 4 MiB files under `dir`, then removes them; wall time and this process's system time. */
function writeAndFree(dir: string, bytes: number): { ms: number; systemSeconds: number } {
  mkdirSync(dir, { recursive: true });
  const chunk = Buffer.alloc(CHUNK, 7);
  const systemBefore = process.cpuUsage().system;
  const started = performance.now();
  for (let written = 0, i = 0; written < bytes; written += CHUNK, i++)
    writeFileSync(join(dir, `f${i}`), chunk);
  const figures = {
    ms: performance.now() - started,
    systemSeconds: (process.cpuUsage().system - systemBefore) / 1e6,
  };
  rmSync(dir, { recursive: true, force: true });
  return figures;
}

export async function measurePageCost(
  workDirectory: string,
  bytes: number,
  idleSeconds = 10,
): Promise<PageCost> {
  const dir = join(workDirectory, "page-cost");
  writeAndFree(dir, bytes); // brings these pages in, whatever state they were in
  const reused = writeAndFree(dir, bytes);
  await Bun.sleep(idleSeconds * 1000);
  const afterIdle = writeAndFree(dir, bytes);
  return { megabytes: bytes / 1e6, idleSeconds, reused, afterIdle };
}

if (import.meta.main) {
  const megabytes = Number(process.argv[2] ?? 330);
  const work = mkdtempSync(join(tmpdir(), "kache-page-cost-"));
  try {
    const cost = await measurePageCost(work, megabytes * 1e6);
    const line = (label: string, { ms, systemSeconds }: PageCost["reused"]) =>
      `${label}: ${ms.toFixed(0)} ms, ${systemSeconds.toFixed(2)} s system`;
    console.log(`writing ${megabytes} MB of new files`);
    console.log(line("  right after freeing as much", cost.reused));
    console.log(line(`  after ${cost.idleSeconds} s idle`, cost.afterIdle));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
