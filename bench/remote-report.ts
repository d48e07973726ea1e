// The "fresh machine, warm bucket" part of bench/RESULTS.md: kache from a warm bucket against kache
// local-warm, no cache and sccache local-warm (Debian's sccache has no S3 support), with its targets.

import type { RemoteWarmFigures } from "./remote-warm";
import type { Target } from "./report";
import type { Measurements } from "./scenarios";
import { formatRatio, formatSeconds, median, pairedRatios, ratio } from "./stats";

function megabytesPerSecond(bytes: number, ms: number): string {
  return ms > 0 ? `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s` : "—";
}

export function remoteWarmLines(figures: RemoteWarmFigures, measurements: Measurements): string[] {
  const remote = median(figures.seconds);
  const { kache, sccache, none } = measurements.seconds;
  const row = (label: string, seconds: number) =>
    `| ${label} | ${formatSeconds(seconds)} | ${formatRatio(ratio(remote, seconds))} |`;
  return [
    "A fresh checkout at another path, an empty cache and its own daemon, building from a bucket",
    "that `kache sync --push` filled from the kache mode's store (s3rver on 127.0.0.1). Debian's",
    "sccache 0.4 is built without S3 support, so its local warm rebuild is its best figure here.",
    "",
    "| build | time | kache remote-warm / this |",
    "|---|---:|---:|",
    row("kache, fresh machine, warm bucket", remote),
    row("kache, local warm (`rm -rf target`)", median(kache.warm)),
    row("sccache, local warm", median(sccache.warm)),
    row("no cache", median(none.warm)),
    "",
    `- per remote-warm build (${figures.seconds.length} builds): ${figures.remoteHits.join(", ")} remote hits, ` +
      `${figures.misses.join(", ")} misses, ${figures.prepasses.join(", ")} dep-info pre-passes`,
    `- push (\`kache sync --push\`): ${(figures.pushBytes / 1e6).toFixed(1)} MB of archives in ` +
      `${(figures.pushMs / 1000).toFixed(2)} s, ${megabytesPerSecond(figures.pushBytes, figures.pushMs)}`,
    `- downloads: ${(figures.downloadBytes / 1e6).toFixed(1)} MB of archives over the remote hits, ` +
      `${megabytesPerSecond(figures.downloadBytes, figures.downloadMs)} per wrapper waiting on its fetch ` +
      "(key lists, download, verify and store; the wrappers wait in parallel)",
    ...editLines(figures),
    ...pageCostLines(figures),
  ];
}

function pageCostLines({ pageCost, storeBytes }: RemoteWarmFigures): string[] {
  if (!pageCost) return [];
  const cost = ({ ms, systemSeconds }: { ms: number; systemSeconds: number }) =>
    `${formatSeconds(ms / 1000)} (${systemSeconds.toFixed(2)} s system)`;
  return [
    `- this machine's memory: writing ${(storeBytes / 1e6).toFixed(0)} MB of new files (what a fresh ` +
      `machine's store took) costs ${cost(pageCost.afterIdle)} after memory sat idle ${pageCost.idleSeconds} s, ` +
      `${cost(pageCost.reused)} right after freeing as much (\`bench/page-cost.ts\`). A fresh machine ` +
      "writes its store into new pages; a local warm rebuild mostly hardlinks.",
  ];
}

function editLines({ edit }: RemoteWarmFigures): string[] {
  if (!edit) return [];
  const pairs = pairedRatios(edit.kache, edit.none);
  return [
    `- edit loop on that machine, its daemon running and the remote configured (a function added to the big ` +
      `member, \`cargo check\`, ${pairs.length} edits alternated with plain cargo's): ` +
      `${formatSeconds(median(edit.kache))} vs ${formatSeconds(median(edit.none))}, ` +
      `${formatRatio(median(pairs))} (median of the paired ratios); ` +
      `${edit.prepasses} dep-info pre-passes over ${edit.misses} misses`,
  ];
}

export function remoteWarmTargets(figures: RemoteWarmFigures, measurements: Measurements): Target[] {
  const remote = median(figures.seconds);
  const local = median(measurements.seconds.kache.warm);
  const sccache = median(measurements.seconds.sccache.warm);
  const prepasses = median(figures.prepasses);
  return [
    {
      name: "fresh machine, warm bucket ≤ 2× kache local-warm and ≤ 0.3× sccache local-warm",
      pass: ratio(remote, local) <= 2 && ratio(remote, sccache) <= 0.3,
      measured: `${formatRatio(ratio(remote, local))} local-warm, ${formatRatio(ratio(remote, sccache))} sccache (${formatSeconds(remote)})`,
    },
    {
      name: "zero dep-info pre-passes on a fresh machine with a warm bucket",
      pass: prepasses === 0,
      measured: `${prepasses} per build`,
    },
    ...(figures.edit
      ? [
          {
            name: "zero dep-info pre-passes in the edit loop with a remote configured",
            pass: figures.edit.prepasses === 0,
            measured: `${figures.edit.prepasses} over ${figures.edit.misses} misses`,
          },
        ]
      : []),
  ];
}
