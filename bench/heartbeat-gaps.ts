// Watches a daemon's heartbeat file (touched every 100 ms from its event loop) and, on SIGTERM,
// prints the longest gaps between touches as JSON: how long the daemon's thread was held.
// Its own process, since the bench blocks on the build. Usage: bun bench/heartbeat-gaps.ts FILE
import { statSync } from "node:fs";

const [file] = process.argv.slice(2);
if (!file) throw new Error("usage: bun bench/heartbeat-gaps.ts HEARTBEAT_FILE");
const gaps: number[] = [];
let last = -1;
const poll = setInterval(() => {
  try {
    const touched = statSync(file).mtimeMs;
    if (last >= 0 && touched !== last) gaps.push(touched - last);
    last = touched;
  } catch {
    // not there yet, or the daemon stopped
  }
}, 5);
process.on("SIGTERM", () => {
  clearInterval(poll);
  const sorted = gaps.sort((a, b) => b - a);
  console.log(JSON.stringify({ beats: gaps.length + 1, longest: sorted.slice(0, 5).map(Math.round) }));
  process.exit(0);
});
console.log("ready");
