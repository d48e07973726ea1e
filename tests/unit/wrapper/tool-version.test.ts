// A tool's --version is read in the C locale, so machines with other languages key alike.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "kache-tool-version-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TRANSLATING_LINKER = [
  "#!/bin/sh",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  'locale="${LC_ALL:-${LC_MESSAGES:-$LANG}}"',
  'case "$locale" in',
  '  de*) echo "Dies ist freie Software" ;;',
  '  *) echo "This is free software" ;;',
  "esac",
  "",
].join("\n");

test("a linker that translates its banner answers in English whatever the user's locale", () => {
  const linker = join(dir, "cc");
  writeFileSync(linker, TRANSLATING_LINKER);
  chmodSync(linker, 0o755);
  // A process of its own: the locale is the environment kache starts with, as under cargo.
  const script = join(dir, "ask.ts");
  const module = join(import.meta.dir, "../../../src/wrapper/tool-identity");
  writeFileSync(
    script,
    `import { toolVersion } from ${JSON.stringify(module)};\nprocess.stdout.write(toolVersion(null, ${JSON.stringify(linker)}));\n`,
  );
  const run = Bun.spawnSync([process.execPath, script], {
    env: { ...process.env, LANG: "de_DE.UTF-8", LC_MESSAGES: "de_DE.UTF-8" },
  });
  expect(run.stderr.toString()).toBe("");
  // The banner in English, and (this linker being a script) the script's content.
  const hash = new Bun.CryptoHasher("sha256").update(TRANSLATING_LINKER).digest("hex");
  expect(run.stdout.toString()).toBe(`0\nThis is free software\n\nscript sha256 ${hash}`);
});
