// The daemon's record of entry transfers: those under way, and a fixed ring of the newest finished
// ones, so the monitor can show them and a daemon running for weeks holds no more than the ring.
import type { TransferCause, TransferInFlight, TransferRecord } from "../ipc/protocol";
import { describeError } from "../util/errors";

/** Finished transfers kept; older ones are overwritten. */
export const RECENT_TRANSFERS = 200;
/** An error longer than this is cut: the monitor shows one line. */
const ERROR_CHARS = 200;

/** A transfer under way; whoever moves the bytes updates `bytes` as they go. */
export type ActiveTransfer = TransferInFlight;

export class TransferLog {
  private readonly ring: (TransferRecord | undefined)[];
  /** Where the next finished transfer goes. */
  private next = 0;
  private readonly active = new Set<ActiveTransfer>();

  constructor(private readonly capacity = RECENT_TRANSFERS) {
    this.ring = new Array(capacity);
  }

  begin(
    direction: TransferInFlight["direction"],
    crate: string,
    key: string,
    remote: string,
    cause: TransferCause,
  ): ActiveTransfer {
    const transfer: ActiveTransfer = {
      direction,
      crate,
      key,
      remote,
      cause,
      startedAt: Date.now(),
      bytes: 0,
    };
    this.active.add(transfer);
    return transfer;
  }

  /** Ends a transfer: kept as finished (bytes as given, or as counted so far on a failure). */
  finish(transfer: ActiveTransfer, outcome: { bytes: number } | { error: unknown }): void {
    this.active.delete(transfer);
    const at = Date.now();
    const { startedAt, ...rest } = transfer;
    const record: TransferRecord =
      "error" in outcome
        ? { ...rest, ms: at - startedAt, at, ok: false, error: shortError(outcome.error) }
        : { ...rest, bytes: outcome.bytes, ms: at - startedAt, at, ok: true };
    this.ring[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Ends a transfer that moved nothing (the object was there already, or not there at all). */
  drop(transfer: ActiveTransfer): void {
    this.active.delete(transfer);
  }

  /** Copies, so a caller's JSON never races the counters. */
  inFlight(): TransferInFlight[] {
    return [...this.active].map((transfer) => ({ ...transfer }));
  }

  /** The finished transfers, the newest first. */
  recent(): TransferRecord[] {
    const records: TransferRecord[] = [];
    for (let back = 1; back <= this.capacity; back++) {
      const record = this.ring[(this.next - back + this.capacity) % this.capacity];
      if (!record) break;
      records.push(record);
    }
    return records;
  }
}

function shortError(error: unknown): string {
  const message = describeError(error).split("\n")[0]!;
  return message.length > ERROR_CHARS ? `${message.slice(0, ERROR_CHARS - 1)}…` : message;
}
