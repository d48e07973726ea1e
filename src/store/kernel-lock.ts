// Locks the kernel releases when their holder dies: no pid to judge, so a reused pid or a cache
// restored from another machine can never make a dead holder look alive.
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { hashBytes } from "../util/hash";

export interface HeldLock {
  release(): void;
}

type Backend = (name: string, file: string) => HeldLock | null | undefined;

/**
 * Linux: an abstract Unix socket named after the lock. Binding is exclusive, costs about 0.1 ms,
 * leaves no file behind and ends with the process. (Per network namespace: two containers that
 * share a cache dir but not a network may both compile one key, which is only duplicate work.)
 */
function abstractSocketLock(name: string): HeldLock | null | undefined {
  try {
    const server = Bun.listen({
      unix: `\0kache-lock-${hashBytes(name).slice(0, 40)}`,
      socket: { data() {} },
    });
    return { release: () => server.stop(true) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") return null;
    return undefined;
  }
}

let flockCall: ((fd: number, operation: number) => number) | null | undefined;

/** flock(2) through bun:ffi, loaded once and only where abstract sockets do not exist (macOS). */
function loadFlock(): ((fd: number, operation: number) => number) | null {
  if (flockCall !== undefined) return flockCall;
  try {
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    const library = process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6";
    const { symbols } = dlopen(library, {
      flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    });
    flockCall = (fd, operation) => symbols.flock(fd, operation) as number;
  } catch {
    flockCall = null;
  }
  return flockCall;
}

const LOCK_EX = 2;
const LOCK_NB = 4;

/** flock on a lock file that is never deleted (deleting it would let two holders lock two inodes). */
export function flockLock(_name: string, file: string): HeldLock | null | undefined {
  const flock = loadFlock();
  if (!flock) return undefined;
  let fd: number;
  try {
    mkdirSync(dirname(file), { recursive: true });
    fd = openSync(file, "a", 0o600);
  } catch {
    return undefined;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) === 0) return { release: () => closeSync(fd) };
  closeSync(fd);
  return null;
}

const BACKENDS: Backend[] = process.platform === "linux" ? [abstractSocketLock, flockLock] : [flockLock];

/**
 * Tries once to take the lock `name` (`file` backs it where a file is needed). Null when a live
 * process holds it; undefined when no lock can be had here at all (callers then go on unlocked,
 * which only risks duplicate work).
 */
export function tryKernelLock(name: string, file: string, backends = BACKENDS): HeldLock | null | undefined {
  for (const backend of backends) {
    const lock = backend(name, file);
    if (lock !== undefined) return lock;
  }
  return undefined;
}
