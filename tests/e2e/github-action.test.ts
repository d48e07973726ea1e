// The GitHub Action's scripts on a simulated runner (GITHUB_ENV, GITHUB_PATH, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, RUNNER_* variables) against a local release server: setup installs
// kache and exports PATH, RUSTC_WRAPPER and the config through the runner files, a real cargo build
// then goes through the installed kache, and post writes a markdown report to the job summary.
// action.yml and post/action.yml are checked against the scripts and inputs they name.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { cleanUpDaemons, track } from "./daemon-support";
import {
  cargo,
  copyFixture,
  makeTempDir,
  PATH_WS_UNITS,
  REPO_ROOT,
  removeTarget,
  removeTempDirs,
} from "./harness";
import { PACKAGE_VERSION, type ReleaseServer, serveRelease } from "./release-server";
import { runCollected } from "./run-collected";

const TIMEOUT = 180_000;
const SCRIPTS = join(REPO_ROOT, ".github", "action");
let server: ReleaseServer;

beforeAll(async () => {
  server = await serveRelease();
});
afterEach(cleanUpDaemons);
afterAll(() => {
  server?.stop();
  removeTempDirs();
});

interface ActionFile {
  inputs?: Record<string, { description: string; default?: string }>;
  runs: {
    using: string;
    steps: { id?: string; run?: string; uses?: string; env?: Record<string, string> }[];
  };
}

function readAction(file: string): ActionFile {
  return Bun.YAML.parse(readFileSync(join(REPO_ROOT, file), "utf8")) as ActionFile;
}

// The steps of action.yml: setup, the runner cache (actions/cache, not run here), the daemon's start.
const SETUP = 0;
const START = 2;

interface Runner {
  home: string;
  workspace: string;
  files: { env: string; path: string; output: string; summary: string };
  /** The environment of the next step: the base plus what earlier steps wrote to the runner files. */
  stepEnv(): Record<string, string>;
  /** Runs step `index` of `file` as the runner would: its `run:` under bash, its `env:` from the inputs. */
  step(
    file: string,
    index: number,
    inputs?: Record<string, string>,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  outputs(): Record<string, string>;
}

/** A runner's files and variables in temp dirs, its workspace a copy of tests/fixtures/path-ws. */
function simulatedRunner(): Runner {
  const home = makeTempDir("kache-e2e-runner-home-");
  const temp = makeTempDir("kache-e2e-runner-temp-");
  const workspace = copyFixture("path-ws");
  const files = {
    env: join(temp, "github_env"),
    path: join(temp, "github_path"),
    output: join(temp, "github_output"),
    summary: join(temp, "step_summary"),
  };
  for (const file of Object.values(files)) writeFileSync(file, "");
  const base: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("KACHE_") && !/^(RUSTC_WRAPPER|GITHUB_|RUNNER_)/.test(name))
      base[name] = value;
  }
  Object.assign(base, {
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    CARGO_HOME: process.env.CARGO_HOME ?? join(process.env.HOME ?? "", ".cargo"),
    RUSTUP_HOME: process.env.RUSTUP_HOME ?? join(process.env.HOME ?? "", ".rustup"),
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_WORKSPACE: workspace,
    RUNNER_OS: "Linux",
    RUNNER_ARCH: "X64",
    RUNNER_TEMP: temp,
    KACHE_INSTALL_BASE: server.base,
    NO_COLOR: "1",
  });
  const keyValues = (file: string) =>
    Object.fromEntries(
      readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
  const stepEnv = () => {
    const added = readFileSync(files.path, "utf8").split("\n").filter(Boolean).reverse();
    return { ...base, ...keyValues(files.env), PATH: [...added, base.PATH].join(":") };
  };
  return {
    home,
    workspace,
    files,
    stepEnv,
    outputs: () => keyValues(files.output),
    step: (file, index, inputs = {}) => {
      const action = readAction(file);
      const step = action.runs.steps[index]!;
      const input = (name: string) => inputs[name] ?? action.inputs?.[name]?.default ?? "";
      const stepVariables = Object.fromEntries(
        Object.entries(step.env ?? {}).map(([name, value]) => [
          name,
          value.replace(/\$\{\{ inputs\.([a-z0-9-]+) \}\}/g, (_, key: string) => input(key)),
        ]),
      );
      const actionPath = join(REPO_ROOT, dirname(file));
      return runCollected(["bash", "-e", "-c", step.run!], {
        cwd: workspace,
        env: { ...stepEnv(), ...stepVariables, GITHUB_ACTION_PATH: actionPath },
      });
    },
  };
}

test(
  "setup, a cargo build and post on a runner without S3",
  async () => {
    const runner = simulatedRunner();
    const setup = await runner.step("action.yml", SETUP, {
      version: PACKAGE_VERSION,
      "cache-executables": "true",
    });
    expect(setup.stderr).toBe("");
    expect(setup.code).toBe(0);

    const env = runner.stepEnv();
    const installDir = readFileSync(runner.files.path, "utf8").trim();
    const cacheDir = join(runner.home, ".cache", "kache");
    expect(env.RUSTC_WRAPPER).toBe(join(installDir, "kache"));
    expect(env.KACHE_CACHE_DIR).toBe(cacheDir);
    expect(readFileSync(env.KACHE_CONFIG!, "utf8")).toBe(
      `[cache]\nlocal_store = "${cacheDir}"\ncache_executables = true\n`,
    );
    const version = await runCollected(["kache", "--version"], { env });
    expect(version.stdout.trim()).toBe(`kache ${PACKAGE_VERSION}`);

    // The runner-cache key: platform, toolchain and lock files; a changed Cargo.lock changes only its tail.
    const outputs = runner.outputs();
    expect(outputs["cache-dir"]).toBe(cacheDir);
    expect(outputs["cache-key"]).toMatch(/^kache-Linux-X64-[0-9a-f]{16}-[0-9a-f]{16}$/);
    expect(outputs["cache-key"]!.startsWith(outputs["cache-restore-key"]!)).toBe(true);
    const rerun = simulatedRunner();
    writeFileSync(
      join(rerun.workspace, "Cargo.lock"),
      `${readFileSync(join(rerun.workspace, "Cargo.lock"), "utf8")}\n`,
    );
    expect((await rerun.step("action.yml", SETUP)).code).toBe(0);
    expect(rerun.outputs()["cache-restore-key"]).toBe(outputs["cache-restore-key"]!);
    expect(rerun.outputs()["cache-key"]).not.toBe(outputs["cache-key"]!);

    const start = await runner.step("action.yml", START);
    expect(start.code).toBe(0);
    track(env.RUSTC_WRAPPER!, cacheDir);
    expect(start.stdout).toContain("started");

    // The build sees only what the runner exported: no RUSTC_WRAPPER or KACHE_* of the test's own.
    const build = await cargo(["build"], { cwd: runner.workspace, cacheDir, wrapper: false, env });
    expect(build.code).toBe(0);
    expect(build.events.length).toBe(PATH_WS_UNITS.length);
    expect(build.outcomes.miss).toBe(PATH_WS_UNITS.length);
    removeTarget(runner.workspace);
    const again = await cargo(["build"], { cwd: runner.workspace, cacheDir, wrapper: false, env });
    expect(again.outcomes["local hit"]).toBe(PATH_WS_UNITS.length);

    const post = await runner.step("post/action.yml", 0);
    expect(post.code).toBe(0);
    const summary = readFileSync(runner.files.summary, "utf8");
    expect(summary).toContain("kache build report");
    expect(summary).toContain("|---|");
    expect(post.stderr).toContain("report appended to $GITHUB_STEP_SUMMARY");
    expect(post.stdout).toContain(`cache dir:    ${cacheDir}`);
    expect(post.stdout).toMatch(
      new RegExp(`hits: +${PATH_WS_UNITS.length} \\(local ${PATH_WS_UNITS.length},`),
    );
    expect(post.stdout).toContain(`stopped daemon pid`);
    const status = await runCollected(["kache", "daemon"], { env });
    expect(status.stdout.split("\n")[0]).toBe("daemon: stopped");
  },
  TIMEOUT,
);

test(
  "with S3 inputs: the remote settings in the config file, the credentials masked in the env only, no runner cache",
  async () => {
    const runner = simulatedRunner();
    const setup = await runner.step("action.yml", SETUP, {
      "s3-bucket": "ci-cache",
      "s3-endpoint": "http://127.0.0.1:9000",
      "s3-region": "eu-west-1",
      "s3-prefix": "team/a",
      "read-only": "true",
      "aws-access-key-id": "AKIAEXAMPLE",
      "aws-secret-access-key": "s3cr3t/Key+",
    });
    expect(setup.stderr).toBe("");
    expect(setup.code).toBe(0);
    expect(setup.stdout).toContain("::add-mask::AKIAEXAMPLE\n");
    expect(setup.stdout).toContain("::add-mask::s3cr3t/Key+\n");
    const env = runner.stepEnv();
    const config = readFileSync(env.KACHE_CONFIG!, "utf8");
    expect(config).toContain(
      '[cache.remote]\nbucket = "ci-cache"\nendpoint = "http://127.0.0.1:9000"\nregion = "eu-west-1"\nprefix = "team/a"\nread_only = true\n',
    );
    expect(config).not.toContain("s3cr3t");
    expect(env.KACHE_S3_ACCESS_KEY).toBe("AKIAEXAMPLE");
    expect(env.KACHE_S3_SECRET_KEY).toBe("s3cr3t/Key+");
    expect(runner.outputs()["cache-key"]).toBeUndefined();

    // kache itself reads the file the way the daemon and the wrapper will.
    const get = await runCollected(["kache", "config", "get", "cache.remote.prefix"], { env });
    expect(get.stdout.trim()).toBe("team/a");
  },
  TIMEOUT,
);

test("a bad input is one clear line and a failed step", async () => {
  const runner = simulatedRunner();
  const setup = await runner.step("action.yml", SETUP, { "read-only": "maybe" });
  expect(setup.code).not.toBe(0);
  expect(setup.stderr).toContain('kache: error: cache.remote.read_only: invalid boolean "maybe"');
  expect(readFileSync(runner.files.env, "utf8")).toBe("");
});

test("action.yml and post/action.yml name existing scripts, and every input is declared and used", () => {
  const steps = readAction("action.yml").runs.steps;
  expect(steps[SETUP]?.id).toBe("setup");
  expect(steps[SETUP + 1]?.uses).toStartWith("actions/cache@");
  expect(steps[START]?.run).toContain("start.sh");
  const setupScript = readFileSync(join(SCRIPTS, "setup.sh"), "utf8");
  for (const file of ["action.yml", "post/action.yml"]) {
    const text = readFileSync(join(REPO_ROOT, file), "utf8");
    const action = Bun.YAML.parse(text) as ActionFile;
    expect(action.runs.using).toBe("composite");
    for (const step of action.runs.steps) {
      if (step.uses) {
        expect(step.uses).toMatch(/^actions\/cache@v\d+$/);
        continue;
      }
      const script = /\$GITHUB_ACTION_PATH\/([^"]+)/.exec(step.run ?? "")?.[1];
      expect(script).toBeDefined();
      expect(existsSync(join(REPO_ROOT, dirname(file), script!))).toBe(true);
      for (const name of Object.keys(step.env ?? {})) expect(setupScript).toContain(name);
    }
    const declared = Object.keys(action.inputs ?? {}).sort();
    const used = [...new Set([...text.matchAll(/inputs\.([a-z0-9-]+)/g)].map((match) => match[1]!))].sort();
    expect(used).toEqual(declared);
    for (const output of text.matchAll(/steps\.setup\.outputs\.([a-z-]+)/g))
      expect(setupScript).toContain(`${output[1]}=`);
  }
  expect(
    Object.keys(
      (Bun.YAML.parse(readFileSync(join(REPO_ROOT, "action.yml"), "utf8")) as ActionFile).inputs ?? {},
    ).sort(),
  ).toEqual([
    "aws-access-key-id",
    "aws-secret-access-key",
    "cache-executables",
    "read-only",
    "s3-bucket",
    "s3-endpoint",
    "s3-prefix",
    "s3-region",
    "version",
  ]);
});

test("shellcheck finds nothing in the action's scripts", async () => {
  const scripts = ["setup.sh", "start.sh", "post.sh"].map((name) => join(SCRIPTS, name));
  const run = await runCollected(["shellcheck", ...scripts], { env: process.env });
  expect(run.stdout + run.stderr).toBe("");
  expect(run.code).toBe(0);
});
