// The wrapper's logger: plain lines on stderr, filtered by KACHE_LOG. No consola on the hot path.
export type LogLevel = "error" | "warn" | "info" | "debug";
const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

let threshold: number = ORDER[parseLevel(process.env.KACHE_LOG)];

export function parseLevel(text: string | undefined): LogLevel {
  const value = (text ?? "").toLowerCase();
  return value in ORDER ? (value as LogLevel) : "warn";
}

export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

let writeLine = (line: string): void => {
  process.stderr.write(line);
};

/** Sends every line elsewhere than our stderr: a Rust wrapper's go to cargo's (see parent-stderr). */
export function setLogWriter(writer: (line: string) => void): void {
  writeLine = writer;
}

function write(level: LogLevel, message: string): void {
  if (ORDER[level] > threshold) return;
  writeLine(`kache ${level}: ${message}\n`);
}

export const log = {
  error: (message: string) => write("error", message),
  warn: (message: string) => write("warn", message),
  info: (message: string) => write("info", message),
  debug: (message: string) => write("debug", message),
};
