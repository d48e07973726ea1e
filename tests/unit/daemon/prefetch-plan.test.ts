// What a prefetch picks from crate listings: never an entry another compiler built; this
// compiler's for the session's targets first, then its other targets, then unmarked entries.
import { describe, expect, test } from "bun:test";
import type { RemoteSettings } from "../../../src/config/settings";
import { type CratePlan, eachCratePlan, type PrefetchRequest } from "../../../src/daemon/prefetch-plan";
import type { RemoteObject } from "../../../src/remote/remote";
import { parseToolchainMarker, toolchainMarkerKey } from "../../../src/remote/toolchain-markers";
import {
  entryTags,
  isToolchainTags,
  type OutputKind,
  outputKind,
  sessionLinks,
  sessionTags,
  type ToolchainTags,
} from "../../../src/wrapper/toolchain-tag";

const settings = { type: "s3", bucket: "b", prefix: "artifacts" } as RemoteSettings;
const key = (n: number) => n.toString(16).padStart(64, "0");
const vV = (version: string) => `rustc ${version}\nbinary: rustc\nhost: x86_64-unknown-linux-gnu\n`;
const stable = { compiler: [vV("1.95.0")], target: ["x86_64-unknown-linux-gnu"] };
const stableArm = { compiler: [vV("1.95.0")], target: ["aarch64-unknown-linux-gnu"] };
const nightly = { compiler: [vV("1.97.0-nightly")], target: ["x86_64-unknown-linux-gnu"] };

/**
 * A listing of `crate`: each entry's archive (uploaded at its number unless told) and, when built
 * by a known toolchain, its marker (last used at its number; a build's unless told).
 */
function listing(
  crate: string,
  entries: [number, Parameters<typeof entryTags>[0] | null, OutputKind?, number?][],
): RemoteObject[] {
  return entries.flatMap(([n, toolchain, output, uploaded]) => [
    { key: `artifacts/${crate}/${key(n)}.tar.zst`, size: 100, modified: uploaded ?? n },
    ...(toolchain
      ? [
          {
            key: toolchainMarkerKey(settings, crate, entryTags(toolchain), {
              output: output ?? "link",
              used: n,
              key: key(n),
            }),
            size: 0,
            modified: uploaded ?? n,
          },
        ]
      : []),
  ]);
}

/** Every crate's plan, merged in the order they were handed over. */
async function planPrefetch(
  list: (crate: string) => Promise<RemoteObject[]>,
  remoteSettings: RemoteSettings,
  request: PrefetchRequest,
): Promise<Omit<CratePlan, "manifests">> {
  const merged = { entries: [] as CratePlan["entries"], fromSaved: 0, otherCompiler: 0, checksLeft: 0 };
  await eachCratePlan(list, remoteSettings, request, (part) => {
    merged.entries.push(...part.entries);
    merged.fromSaved += part.fromSaved;
    merged.otherCompiler += part.otherCompiler;
    merged.checksLeft += part.checksLeft;
  });
  return merged;
}

/** One crate's whole plan, input lists included: serde's, no members, a stable session, unless told. */
async function plan(
  objects: RemoteObject[],
  {
    crate = "serde",
    members = new Set<string>(),
    session = sessionTags(stable) as ToolchainTags | null,
    links = false,
  } = {},
): Promise<CratePlan> {
  const plans: CratePlan[] = [];
  await eachCratePlan(
    async () => objects,
    settings,
    { crates: [crate], members, session, saved: [], haveEntry: () => false, sessionLinks: () => links },
    (part) => plans.push(part),
  );
  return plans[0]!;
}

describe("toolchain tags", () => {
  test("a session takes its own target and the host; an entry names its one target", () => {
    const session = sessionTags(stableArm);
    expect(session.compiler).toBe(entryTags(stable).compiler);
    expect(session.targets).toEqual([entryTags(stableArm).targets[0], entryTags(stable).targets[0]]);
    expect(sessionTags(stable).targets).toEqual(entryTags(stable).targets);
    expect(entryTags(nightly).compiler).not.toBe(entryTags(stable).compiler);
  });

  test("a marker's name round-trips; anything else is not a marker", () => {
    const used = 1_796_180_284_729;
    const name = toolchainMarkerKey(settings, "serde", entryTags(stable), {
      output: "meta",
      used,
      key: key(7),
    });
    expect(parseToolchainMarker(name)).toEqual({ ...tagsOf(stable), output: "meta", used, key: key(7) });
    expect(parseToolchainMarker(`artifacts/serde/${key(7)}.tar.zst`)).toBeNull();
    expect(parseToolchainMarker(`${name}/x`)).toBeNull();
    expect(parseToolchainMarker(name.replace(".meta.", ".rlib."))).toBeNull();
  });

  test("a marker from before outputs and build times were named still names its toolchain", () => {
    const { compiler, target } = tagsOf(stable);
    const name = `artifacts/serde/toolchains/${compiler}.${target}/${key(7)}`;
    expect(parseToolchainMarker(name)).toEqual({ compiler, target, output: null, used: null, key: key(7) });
  });

  test("the output: a build's link, a check's metadata alone", () => {
    const of = (emit: string) => outputKind({ flags: ["out-dir=<TARGET>/debug/deps", emit] });
    expect(of("emit=dep-info,metadata,link")).toBe("link");
    expect(of("emit=dep-info,link")).toBe("link");
    expect(of("emit=")).toBe("link");
    expect(of("emit=dep-info,metadata")).toBe("meta");
    expect(of("emit=metadata=/tmp/x.rmeta")).toBe("meta");
    expect(of("emit=llvm-ir")).toBe("other");
  });

  test("what a call says of its session: a library's or a binary's emit; a build script or proc-macro says nothing", () => {
    const flags = (emit: string) => ({ flags: [emit] });
    const lib = { crateName: "serde", crateTypes: ["lib"] };
    expect(sessionLinks(lib, flags("emit=dep-info,metadata,link"))).toBe(true);
    expect(sessionLinks(lib, flags("emit=dep-info,metadata"))).toBe(false);
    expect(sessionLinks({ crateName: "app", crateTypes: ["bin"] }, flags("emit=dep-info,link"))).toBe(true);
    expect(sessionLinks({ crateName: "app", crateTypes: ["bin"] }, flags("emit=dep-info,metadata"))).toBe(
      false,
    );
    // Linked in `cargo check` too.
    expect(
      sessionLinks({ crateName: "build_script_build", crateTypes: ["bin"] }, flags("emit=dep-info,link")),
    ).toBeNull();
    expect(
      sessionLinks({ crateName: "serde_derive", crateTypes: ["proc-macro"] }, flags("emit=dep-info,link")),
    ).toBeNull();
    expect(sessionLinks(lib, flags("emit=asm"))).toBeNull();
  });

  test("tags from the socket must look like tags", () => {
    expect(isToolchainTags(sessionTags(stable))).toBe(true);
    for (const bad of [
      null,
      {},
      { compiler: "x", targets: [] },
      { compiler: "0".repeat(16), targets: ["../"] },
    ])
      expect(isToolchainTags(bad)).toBe(false);
  });
});

function tagsOf(built: typeof stable) {
  const tags = entryTags(built);
  return { compiler: tags.compiler, target: tags.targets[0] };
}

describe("what a prefetch pulls", () => {
  test("never another key salt's or declared env value's entries: that build could not use them", async () => {
    const salted = { ...stable, salt: ["team-b"] };
    const declared = { ...stable, env: ["RUSTC_BOOTSTRAP=1", "declared MODE", "MODE=beta"] };
    // Other env lines are not what a session shares: they leave the tag as it was.
    expect(entryTags({ ...stable, env: ["RUSTC_BOOTSTRAP=1"], salt: [] })).toEqual(entryTags(stable));
    expect(entryTags(salted).compiler).not.toBe(entryTags(stable).compiler);
    expect(entryTags(declared).compiler).not.toBe(entryTags(stable).compiler);
    const objects = listing("serde", [
      [1, stable],
      [2, salted],
      [3, declared],
    ]);
    expect((await plan(objects)).entries.map((entry) => entry.key)).toEqual([key(1)]);
    const saltedPlan = await plan(objects, { session: sessionTags(salted) });
    expect(saltedPlan.entries.map((entry) => entry.key)).toEqual([key(2)]);
    const declaredPlan = await plan(objects, { session: sessionTags(declared) });
    expect(declaredPlan.entries.map((entry) => entry.key)).toEqual([key(3)]);
  });

  test("never another compiler's entries, even the newest", async () => {
    const picked = await plan(
      listing("serde", [
        [1, stable],
        [5, nightly],
        [6, nightly],
      ]),
    );
    expect(picked.entries.map((entry) => entry.key)).toEqual([key(1)]);
    expect(picked.otherCompiler).toBe(2);
  });

  test("the session's targets first, then this compiler's other targets, then unmarked, newest first within each", async () => {
    const picked = await plan(
      listing("serde", [
        [1, stable],
        [2, stable],
        [3, stableArm],
        [4, null],
        [9, null],
      ]),
    );
    expect(picked.entries.map((entry) => entry.key)).toEqual([key(2), key(1), key(3), key(9)]);
  });

  test("no session (an older wrapper asked): any entry, newest first, as before markers", async () => {
    const picked = await plan(
      listing("serde", [
        [1, stable],
        [5, nightly],
      ]),
      { session: null },
    );
    expect(picked.entries.map((entry) => entry.key)).toEqual([key(5), key(1)]);
    expect(picked.otherCompiler).toBe(0);
  });

  test("a saved manifest's entries come first, except another compiler's and those already here", async () => {
    const objects = listing("serde", [
      [1, stable],
      [2, nightly],
      [3, stable],
      [4, stable],
    ]);
    const saved = [2, 3, 4].map((n) => ({ crate: "serde", key: key(n), size: 100, compileMs: n }));
    const picked = await planPrefetch(async () => objects, settings, {
      crates: ["serde"],
      members: new Set<string>(),
      session: sessionTags(stable),
      saved,
      haveEntry: (k) => k === key(4),
    });
    expect(picked.entries.map((entry) => entry.key)).toEqual([key(3), key(1)]);
    expect(picked.fromSaved).toBe(1);
  });
});

describe("a workspace member", () => {
  test("one entry, the newest of the best rank, though the bucket holds an entry per edit", async () => {
    const objects = listing("ledger", [
      [1, stable],
      [2, stable],
      [3, stable],
      [4, nightly],
    ]);
    const picked = await plan(objects, { crate: "ledger", members: new Set(["ledger"]) });
    expect(picked.entries.map((entry) => entry.key)).toEqual([key(3)]);
  });

  test("the newest build and the newest check: a build never uses a check's entry", async () => {
    const objects = listing("ledger", [
      [1, stable, "link"],
      [2, stable, "meta"],
      [3, stable, "link"],
      [4, stable, "meta"],
      [5, stable, "meta"],
    ]);
    const picked = await plan(objects, { crate: "ledger", members: new Set(["ledger"]) });
    expect(picked.entries.map((entry) => entry.key)).toEqual([key(5), key(3)]);
  });

  test("newest by when the uploader last used it: a bulk push uploads every version within one second", async () => {
    const objects = listing("ledger", [
      [3, stable, "link", 1000],
      [9, stable, "link", 1000],
      [5, stable, "link", 1000],
    ]);
    const picked = await plan(objects, { crate: "ledger", members: new Set(["ledger"]) });
    expect(picked.entries.map((entry) => entry.key)).toEqual([key(9)]);
  });

  test("a saved manifest's entries of a member are all taken", async () => {
    const objects = listing("ledger", [
      [1, stable],
      [2, stable],
    ]);
    const picked = await planPrefetch(async () => objects, settings, {
      crates: ["ledger"],
      members: new Set(["ledger"]),
      session: sessionTags(stable),
      saved: [1, 2].map((n) => ({ crate: "ledger", key: key(n), size: 100, compileMs: n })),
      haveEntry: () => false,
    });
    expect(picked.entries.map((entry) => entry.key).sort()).toEqual([key(1), key(2)]);
  });
});

describe("input lists", () => {
  const manifest = (crate: string, n: number) => ({
    key: `artifacts/${crate}/manifests/${"f".repeat(64)}/${key(n)}.json`,
    size: 10,
    modified: n,
  });

  test("none when every entry the crate has comes (each archive carries its own)", async () => {
    const objects = [
      ...listing("serde", [
        [1, stable],
        [2, stable, "meta"],
        [3, nightly],
      ]),
      manifest("serde", 1),
    ];
    const planned = await plan(objects);
    expect(planned.entries.map((entry) => entry.key)).toEqual([key(2), key(1)]);
    expect(planned.manifests).toEqual([]);
  });

  test("all of them when some entries stay in the bucket: a member's older versions", async () => {
    const objects = [
      ...listing("ledger", [
        [1, stable],
        [2, stable],
        [3, stable],
      ]),
      manifest("ledger", 1),
    ];
    const planned = await plan(objects, { crate: "ledger", members: new Set(["ledger"]) });
    expect(planned.entries.map((entry) => entry.key)).toEqual([key(3)]);
    expect(planned.manifests.map((list) => list.key)).toEqual([manifest("ledger", 1).key]);
  });
});

describe("a crate name several targets share", () => {
  test("build_script_build: the newest entries of each build script, not of four of them", async () => {
    const objects = listing(
      "build_script_build",
      Array.from({ length: 12 }, (_, n) => [n + 1, stable]),
    );
    const picked = await planPrefetch(async () => objects, settings, {
      crates: ["build_script_build"],
      members: new Set<string>(),
      targetsPerCrate: new Map([["build_script_build", 2]]),
      session: sessionTags(stable),
      saved: [],
      haveEntry: () => false,
    });
    expect(picked.entries.map((entry) => entry.key)).toEqual([12, 11, 10, 9, 8, 7, 6, 5].map(key));
  });
});

describe("a prefetch that streams", () => {
  test("a crate's plan is handed over while later crates are still being listed", async () => {
    const crates = ["a", "b", "c", "d", "e"];
    let releaseLast = () => {};
    const lastListed = new Promise<void>((resolve) => {
      releaseLast = resolve;
    });
    const taken: string[] = [];
    const done = eachCratePlan(
      async (crate) => {
        if (crate === "e") await lastListed; // a slow listing
        return listing(crate, [[crates.indexOf(crate) + 1, stable]]);
      },
      settings,
      { crates, members: new Set<string>(), session: sessionTags(stable), saved: [], haveEntry: () => false },
      (part) => taken.push(...part.entries.map((entry) => entry.crate)),
    );
    await Bun.sleep(10);
    expect(taken).toEqual(["a", "b", "c", "d"]);
    releaseLast();
    await done;
    expect(taken).toEqual(crates);
  });

  test("one budget across the crates", async () => {
    const big = (crate: string) => [
      { key: `artifacts/${crate}/${key(1)}.tar.zst`, size: 1.5 * 1024 ** 3, modified: 1 },
    ];
    const picked = await planPrefetch(async (crate) => big(crate), settings, {
      crates: ["a", "b"],
      members: new Set<string>(),
      session: null,
      saved: [],
      haveEntry: () => false,
    });
    expect(picked.entries.map((entry) => entry.crate)).toEqual(["a"]);
  });
});

describe("a session that links (a library's call said so)", () => {
  const manifest = (crate: string, n: number) => ({
    key: `artifacts/${crate}/manifests/${"f".repeat(64)}/${key(n)}.json`,
    size: 10,
    modified: n,
  });
  const objects = [
    ...listing("serde", [
      [1, stable, "link"],
      [2, stable, "meta"],
      [3, stable, "meta"],
    ]),
    manifest("serde", 2),
  ];

  test("takes no check's entry, counts those it left, and no input list for them", async () => {
    const planned = await plan(objects, { links: true });
    expect(planned.entries.map((entry) => entry.key)).toEqual([key(1)]);
    expect(planned.checksLeft).toBe(2);
    expect(planned.manifests).toEqual([]);
  });

  test("a session not known to link takes both kinds, as a `cargo check` needs", async () => {
    const planned = await plan(objects);
    expect(planned.entries.map((entry) => entry.key).sort()).toEqual([key(1), key(2), key(3)]);
    expect(planned.checksLeft).toBe(0);
  });
});
