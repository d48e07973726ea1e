// Whether an executable is a script: a compiler that is one may run whatever PATH picks today, so
// its answer to a version question is not its own and is never memoised.
import { closeSync, openSync, readSync } from "node:fs";

/** The file starts with `#!`. */
export function isScript(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head.toString("latin1") === "#!";
  } finally {
    closeSync(fd);
  }
}
