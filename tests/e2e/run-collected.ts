// Runs a command to completion without blocking the test's event loop, collecting what it printed.

export interface Collected {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCollected(
  cmd: string[],
  options: { cwd?: string; env: Record<string, string | undefined>; timeoutMs?: number },
): Promise<Collected> {
  const child = Bun.spawn(cmd, {
    cwd: options.cwd,
    env: options.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeoutMs,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}
