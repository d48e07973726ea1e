// The typed error: a message plus what to do about it. The CLI prints both on one line.
export class KacheError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = "KacheError";
  }

  oneLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

export function describeError(error: unknown): string {
  if (error instanceof KacheError) return error.oneLine();
  if (error instanceof Error) return error.message;
  return String(error);
}
