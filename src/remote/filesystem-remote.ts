// A remote that is a directory (an NFS mount, a shared disk): the bucket's layout as files, each
// written to a temp name beside its place and renamed in, so a reader never sees half an object.
import {
  chmodSync,
  closeSync,
  copyFileSync,
  type Dirent,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { tempPathBeside, unlinkQuietly } from "../util/atomic-write";
import { type ListedPage, type Remote, RemoteError, type RemoteObject } from "./remote";

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === "ENOENT";
}

function asRemoteError(error: unknown, what: string): RemoteError {
  const code = (error as NodeJS.ErrnoException)?.code;
  const message = `${what}: ${(error as Error)?.message ?? error}`;
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return new RemoteError("denied", message);
  return new RemoteError("transient", message);
}

const READ_PIECE = 1 << 20;

async function* readFd(fd: number, key: string): AsyncGenerator<Uint8Array> {
  try {
    for (;;) {
      const piece = Buffer.allocUnsafe(READ_PIECE);
      let read: number;
      try {
        read = readSync(fd, piece, 0, READ_PIECE, null);
      } catch (error) {
        throw asRemoteError(error, `reading ${key}`);
      }
      if (read === 0) return;
      yield piece.subarray(0, read);
    }
  } finally {
    closeSync(fd);
  }
}

export class FilesystemRemote implements Remote {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = root;
  }

  private pathOf(key: string): string {
    const path = join(this.root, key);
    if (relative(this.root, path).startsWith(".."))
      throw new RemoteError("config", `not an object key: ${key}`);
    return path;
  }

  private ensureRoot(): void {
    try {
      if (!statSync(this.root).isDirectory())
        throw new RemoteError("config", `${this.root} is not a directory`);
    } catch (error) {
      if (error instanceof RemoteError) throw error;
      throw new RemoteError(
        "config",
        `the filesystem remote ${this.root} does not exist (create it, or fix cache.remote.path)`,
      );
    }
  }

  async download(key: string, destination: string, maxBytes: number): Promise<boolean> {
    this.ensureRoot();
    const path = this.pathOf(key);
    try {
      if (statSync(path).size > maxBytes)
        throw new RemoteError("transient", `${key} is larger than ${maxBytes} bytes`);
      copyFileSync(path, destination);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      if (error instanceof RemoteError) throw error;
      throw asRemoteError(error, `reading ${key}`);
    }
  }

  async read(key: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | null> {
    this.ensureRoot();
    const path = this.pathOf(key);
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (error) {
      if (isMissing(error)) return null;
      throw asRemoteError(error, `reading ${key}`);
    }
    // The open file stays whole even if a writer renames a new object over the name meanwhile.
    if (fstatSync(fd).size > maxBytes) {
      closeSync(fd);
      throw new RemoteError("transient", `${key} is larger than ${maxBytes} bytes`);
    }
    return readFd(fd, key);
  }

  async upload(key: string, source: string): Promise<void> {
    this.ensureRoot();
    const path = this.pathOf(key);
    const temp = tempPathBeside(path);
    try {
      mkdirSync(dirname(path), { recursive: true });
      copyFileSync(source, temp);
      // The source is a private temp file (0600), and a copy keeps its mode: a share that several
      // users (a team, CI runners under other uids) read needs the mode the umask gives new files.
      chmodSync(temp, 0o666 & ~process.umask());
      const fd = openSync(temp, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, path);
    } catch (error) {
      unlinkQuietly(temp);
      throw asRemoteError(error, `writing ${key}`);
    }
  }

  async head(key: string): Promise<number | null> {
    this.ensureRoot();
    try {
      return statSync(this.pathOf(key)).size;
    } catch (error) {
      if (isMissing(error)) return null;
      throw asRemoteError(error, `looking up ${key}`);
    }
  }

  async list(prefix: string): Promise<RemoteObject[]> {
    this.ensureRoot();
    const directory = this.pathOf(prefix);
    try {
      return (readdirSync(directory, { recursive: true, withFileTypes: true }) as Dirent[])
        .filter((item) => item.isFile() && !item.name.startsWith("."))
        .map((item) => join(item.parentPath, item.name))
        .map((path) => ({ path, stat: statSync(path) }))
        .map(({ path, stat }) => ({
          key: relative(this.root, path),
          size: stat.size,
          modified: stat.mtimeMs,
        }))
        .sort((x, y) => (x.key < y.key ? -1 : 1));
    } catch (error) {
      if (isMissing(error)) return [];
      throw asRemoteError(error, `listing ${prefix}`);
    }
  }

  /** A directory lists without a request: nothing is saved by listing more than asked. */
  async listFirstPage(): Promise<ListedPage> {
    return { objects: [], complete: false };
  }

  async delete(key: string): Promise<void> {
    unlinkQuietly(this.pathOf(key));
  }
}
