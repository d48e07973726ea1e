// A bound on work that takes no timeout or signal of its own (Bun's S3 listing, a remote probe).

/** `work`, or a rejection with `message` once `ms` have passed without it settling. */
export function withinMs<T>(work: Promise<T>, ms: number, message = `no answer within ${ms} ms`): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
