// The command that starts s3rver (npm) on 127.0.0.1, for the tests' S3 server and the bench's.
import { join } from "node:path";

export function s3rverCommand(repository: string, dir: string, port: number, bucket: string): string[] {
  const script = join(repository, "node_modules", "s3rver", "bin", "s3rver.js");
  // s3rver ciphers its continuation tokens with DES, which OpenSSL 3 keeps in its legacy
  // provider: without it every listing past its first page fails with InternalError.
  const flags = ["-d", dir, "-a", "127.0.0.1", "-p", String(port), "-s", "--configure-bucket", bucket];
  return ["node", "--openssl-legacy-provider", script, ...flags];
}
