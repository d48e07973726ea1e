// Cargo's jobserver is a pair of fds named in CARGO_MAKEFLAGS (and make's in MAKEFLAGS). A process
// kache starts to outlive the call (the daemon) gets none of those fds, so it must not get the
// variables either: what it runs (`cargo metadata`, and through it kache) would look for them.
export function withoutJobserver(
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const { CARGO_MAKEFLAGS: _cargo, MAKEFLAGS: _make, MFLAGS: _mflags, ...rest } = env;
  return rest;
}
