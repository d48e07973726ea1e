// `kache list`, `stats` and `why-miss` on location-bound entries: a binary that embeds its checkout
// path, built in two checkouts, is cached once per location.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cargo, makeTempDir, newCacheDir, removeTempDirs, writeWhereami } from "./harness";
import { kacheJson, runKache } from "./insight-support";

afterAll(removeTempDirs);

describe("location-bound entries", () => {
  test("list shows the binding, stats counts it, why-miss says the location differs", async () => {
    const dir = newCacheDir();
    const home = makeTempDir("kache-e2e-home-");
    for (const checkout of ["first", "second"]) {
      const workspace = join(makeTempDir(), checkout);
      writeWhereami(workspace);
      const build = await cargo(["build"], { cwd: workspace, cacheDir: dir });
      expect(build.code, build.stderr).toBe(0);
      expect(
        build.events.filter((event) => event.crate === "whereami").map((event) => event.outcome),
      ).toEqual(["miss"]);
    }
    const { entries } = kacheJson(home, dir, ["list", "whereami", "--json"], {});
    expect(entries.length).toBe(2);
    for (const entry of entries) expect(entry.bound_to).toEqual(["WORKSPACE"]);
    expect(runKache(home, dir, ["list", "whereami"], {}).stdout).toContain(
      "location:     bound to WORKSPACE",
    );
    const { store } = kacheJson(home, dir, ["stats", "--json"], {});
    expect(store.location_bound).toBe(2);
    expect(store.entries).toBe(2);
    const why = runKache(home, dir, ["why-miss", "whereami"], {});
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toContain("local paths (WORKSPACE), so it is cached per location");
  });
});
