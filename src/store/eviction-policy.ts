// Which entries gc evicts, and in what order: least recently used first, with each entry's idle time
// weighed by what it saves per byte of store (its compile time over its size).
//
// The rule: an entry's idle time (now - last used, at least a minute) is divided by its worth, the
// compile time it saves per byte compared with the median entry of the store, clamped to 1/4..4.
// Entries are evicted in order of that weighed idle time, longest first. So an entry that saves four
// times more compile time per byte than the typical one counts as used four times more recently, and
// a large entry that compiles quickly counts as idle four times longer; yet an entry idle for a month
// always goes before one used within the last week, whatever either saves.

export interface Candidate {
  key: string;
  /** Bytes of the entry's files. */
  size: number;
  /** Compile time the entry saves on each hit. */
  compileMs: number;
  lastUsed: number;
  /** Blob names (as on disk) the entry's files use. */
  blobs: string[];
}

/** How far what an entry saves can move it in the order, either way. */
export const MAX_WORTH_FACTOR = 4;
/** Idle times below a minute count as a minute: among entries in use right now, worth decides. */
const MIN_IDLE_MS = 60_000;

function savedPerByte(candidate: Candidate): number {
  return candidate.compileMs / Math.max(candidate.size, 1);
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The entry's worth against the typical one, clamped to 1/MAX_WORTH_FACTOR..MAX_WORTH_FACTOR. */
export function worth(candidate: Candidate, typical: number): number {
  const own = savedPerByte(candidate);
  if (typical <= 0) return own > 0 ? MAX_WORTH_FACTOR : 1;
  return Math.min(MAX_WORTH_FACTOR, Math.max(1 / MAX_WORTH_FACTOR, own / typical));
}

/** The candidates in eviction order: the first is the least valuable. */
export function evictionOrder<T extends Candidate>(candidates: T[], now: number): T[] {
  const typical = median(candidates.map(savedPerByte));
  const weighed = candidates.map((candidate) => ({
    candidate,
    idle: Math.max(now - candidate.lastUsed, MIN_IDLE_MS) / worth(candidate, typical),
  }));
  weighed.sort(
    (a, b) =>
      b.idle - a.idle ||
      a.candidate.lastUsed - b.candidate.lastUsed ||
      (a.candidate.key < b.candidate.key ? -1 : 1),
  );
  return weighed.map((item) => item.candidate);
}

/** Per blob, how many entries use it: a blob is freed only when the last entry using it goes. */
export class BlobUsers {
  private readonly users = new Map<string, number>();
  /** The blobs freed so far, with the bytes each holds. */
  readonly freed = new Map<string, number>();
  freedBytes = 0;

  constructor(
    candidates: Candidate[],
    private readonly sizes: ReadonlyMap<string, number>,
  ) {
    for (const candidate of candidates)
      for (const blob of new Set(candidate.blobs)) this.users.set(blob, (this.users.get(blob) ?? 0) + 1);
  }

  /** Takes one entry away; returns the bytes that frees (0 when others share all its blobs). */
  remove(candidate: Candidate): number {
    let bytes = 0;
    for (const blob of new Set(candidate.blobs)) {
      const left = (this.users.get(blob) ?? 1) - 1;
      this.users.set(blob, left);
      if (left > 0) continue;
      const size = this.sizes.get(blob) ?? 0;
      this.freed.set(blob, size);
      bytes += size;
    }
    this.freedBytes += bytes;
    return bytes;
  }
}

export interface EvictionGoal {
  now: number;
  /** Bytes of the blobs the candidates use (orphan blobs are counted and removed apart). */
  usedBytes: number;
  targetBytes: number;
  maxAgeMs: number | null;
}

export interface EvictionPlan<T extends Candidate> {
  /** Entries unused for longer than the maximum age. */
  expired: T[];
  /** Entries evicted to bring the store under its target size. */
  evicted: T[];
  users: BlobUsers;
}

/** Evicts expired entries, then entries in eviction order until the blobs still in use fit the target. */
export function planEviction<T extends Candidate>(
  candidates: T[],
  blobSizes: ReadonlyMap<string, number>,
  goal: EvictionGoal,
): EvictionPlan<T> {
  const users = new BlobUsers(candidates, blobSizes);
  const maxAge = goal.maxAgeMs;
  const expired = maxAge === null ? [] : candidates.filter((c) => goal.now - c.lastUsed > maxAge);
  for (const candidate of expired) users.remove(candidate);
  const gone = new Set<T>(expired);
  const evicted: T[] = [];
  const remaining = candidates.filter((candidate) => !gone.has(candidate));
  for (const candidate of evictionOrder(remaining, goal.now)) {
    if (goal.usedBytes - users.freedBytes <= goal.targetBytes) break;
    users.remove(candidate);
    evicted.push(candidate);
  }
  return { expired, evicted, users };
}
