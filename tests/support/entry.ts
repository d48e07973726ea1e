// An index entry for tests that need a whole one: the fields a test cares about, the rest empty.
import type { Entry } from "../../src/store/index-db";

export function testEntry(fields: Pick<Entry, "key" | "crate"> & Partial<Entry>): Entry {
  return {
    crateTypes: ["lib"],
    target: "x86_64-unknown-linux-gnu",
    profile: "debug",
    features: [],
    files: [],
    stdout: "",
    stderr: "",
    compileMs: 1,
    size: 0,
    hits: 0,
    created: 0,
    lastUsed: 0,
    components: {},
    boundTo: null,
    ...fields,
  };
}
