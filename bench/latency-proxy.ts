// `bun bench/latency-proxy.ts UPSTREAM MS`: an HTTP proxy that holds every request MS milliseconds
// before passing it on, as a bucket across a network would (S3 from a CI runner: 10-50 ms a
// request). Prints its address on the first line. Bodies stream both ways.
const [upstream, delayText] = process.argv.slice(2);
const delayMs = Number(delayText);
if (!upstream || !Number.isFinite(delayMs)) throw new Error("usage: bun bench/latency-proxy.ts UPSTREAM MS");

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 60,
  async fetch(request) {
    await Bun.sleep(delayMs);
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete("host");
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    return fetch(`${upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: hasBody ? await request.arrayBuffer() : undefined,
      redirect: "manual",
    });
  },
});
console.log(`http://127.0.0.1:${server.port}`);
