// Finds the line a TOML key is written on, because Bun.TOML.parse reports no positions.

/** Splits a dotted key (`cache."remote".bucket`) into its segments; null if it is not a key. */
export function splitDottedKey(text: string): string[] | null {
  const segments: string[] = [];
  const pattern = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/y;
  let index = 0;
  while (index < text.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(text);
    if (!match) return null;
    segments.push(match[1] ?? match[2] ?? match[3] ?? "");
    index = pattern.lastIndex;
    if (match[4] === "") break;
  }
  return segments.length > 0 ? segments : null;
}

/** The text before the first `=` that is not inside a quoted key. */
function keyPartOf(line: string): string | null {
  let quote: string | null = null;
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (quote) {
      if (char === "\\" && quote === '"') index++;
      else if (char === quote) quote = null;
    } else if (char === '"' || char === "'") quote = char;
    else if (char === "=") return line.slice(0, index);
    else if (char === "#") return null;
  }
  return null;
}

function headerOf(line: string): string[] | null {
  const match = /^\s*\[\[?([^\]]*)\]\]?\s*(?:#.*)?$/.exec(line);
  return match ? splitDottedKey(match[1]!) : null;
}

function startsWith(path: string[], prefix: string[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, index) => path[index] === segment);
}

/**
 * The 1-based line where `keyPath` (dot-joined, e.g. "cache.remote.bucket") is set, or where its
 * table header is, or where an enclosing inline table starts; null when none is found.
 */
export function findKeyLine(text: string, keyPath: string): number | null {
  const target = keyPath.split(".");
  const lines = text.split(/\r?\n/);
  let table: string[] = [];
  let fallback: { line: number; depth: number } | null = null;
  for (let index = 0; index < lines.length; index++) {
    const header = headerOf(lines[index]!);
    if (header) {
      table = header;
      if (header.join(".") === keyPath) return index + 1;
      continue;
    }
    const keyPart = keyPartOf(lines[index]!);
    const segments = keyPart === null ? null : splitDottedKey(keyPart.trim());
    if (!segments) continue;
    const full = [...table, ...segments];
    if (full.join(".") === keyPath) return index + 1;
    // An inline table (`remote = { bucket = 1 }`) holds the key on the line that opens it.
    if (startsWith(target, full) && (!fallback || full.length > fallback.depth)) {
      fallback = { line: index + 1, depth: full.length };
    }
  }
  return fallback?.line ?? null;
}

/**
 * Bun's TOML errors carry no position, so find the shortest prefix of the file that fails with
 * the same message; that prefix's last line is where the parser stopped.
 */
export function findSyntaxErrorLine(text: string, message: string): number | null {
  const fromMessage = /\bline (\d+)/i.exec(message);
  if (fromMessage) return Number(fromMessage[1]);
  const lines = text.split(/\r?\n/);
  for (let count = 1; count <= lines.length; count++) {
    try {
      Bun.TOML.parse(`${lines.slice(0, count).join("\n")}\n`);
    } catch (error) {
      if (error instanceof Error && error.message === message) return count;
    }
  }
  return null;
}
