/**
 * SIGTERM while a command's modules load: exit 130 and one 'interrupted (SIGTERM)' line, as for any
 * interrupted command (README's exit codes), and nothing written; it was the runtime's default before,
 * 143 and no word, because each command installs its handlers only once its module has loaded. The
 * moment is made, not guessed: strace holds the process at its opening of the command module's emitted
 * JavaScript in Deno's cache (it loads each module's when it is imported), the signal goes out once a
 * thread is seen waiting there (its openat's path read from its memory: any other slow openat on a loaded
 * machine, CI's once, sent it before main.ts had installed anything), and the load then goes on. From sources only (an executable's modules
 * are in memory: no opening to hold it at), and skipped, saying so, against an executable or without
 * strace.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { cliCommand, REPO_ROOT, runCli } from "../helpers/cli.ts";
import { makeServerRoot } from "../archive/fixture.ts";

const hasStrace = new Deno.Command("sh", { args: ["-c", "command -v strace"] }).outputSync().success;
const fromSources = !Deno.env.get("VIGOCLI_BIN");
if (!hasStrace) console.warn("startup_interrupt_cli_test: skipped, strace is not installed");
if (!fromSources) console.warn("startup_interrupt_cli_test: skipped, it holds module loading from sources");

/** Where Deno keeps the JavaScript it emitted for `rel` (a module of this repository). */
function emittedPath(rel: string): string {
  const out = new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" }).outputSync();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { typescriptCache: string };
  return join(info.typescriptCache, "file", REPO_ROOT, `${rel}.js`);
}

const OPENAT = "257";

/** The NUL-ended string at `address` in `pid`'s memory ("" when it cannot be read). */
function stringAt(pid: number, address: bigint): string {
  let fd = -1;
  try {
    fd = openSync(`/proc/${pid}/mem`, "r");
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, address);
    const end = buf.subarray(0, n).indexOf(0);
    return buf.subarray(0, end < 0 ? n : end).toString("utf8");
  } catch {
    return "";
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * Whether one of `pid`'s threads is in openat of `path` now, as /proc says: its system call's number and
 * the path its second argument points at. Any other openat (a slow one on a loaded machine) is not it.
 */
function inOpenatOf(pid: number, path: string): boolean {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  return tasks.some((t) => {
    let fields: string[];
    try {
      fields = readFileSync(`/proc/${pid}/task/${t}/syscall`, "utf8").trim().split(" ");
    } catch {
      return false;
    }
    return fields[0] === OPENAT && stringAt(pid, BigInt(fields[2])) === path;
  });
}

/**
 * Runs `vigocli ARGS…` held for 3 s at its opening of `module`'s emitted file, sends SIGTERM while it is
 * held there, and returns its exit code and stderr. A run that ends without having been seen held there
 * (seen once on a loaded machine: the hold is strace's, and the moment is missed, not the product's
 * doing) is run again, at most three times, `outDir` emptied of what it wrote.
 */
async function termWhileLoading(module: string, args: string[], outDir: string) {
  const emitted = emittedPath(module);
  assert.ok(existsSync(emitted), `${emitted}: not emitted (the warm-up run should have)`);
  for (let attempt = 1;; attempt++) {
    const r = await termIfHeld(emitted, args);
    if (r) return r;
    assert.ok(attempt < 3, `vigocli ${args.join(" ")} was never held at ${emitted} (3 runs)`);
    console.warn(`startup_interrupt_cli_test: run ${attempt} was never seen held at ${emitted}; again`);
    for (const name of readdirSync(outDir)) rmSync(join(outDir, name), { recursive: true });
  }
}

/** One run of {@link termWhileLoading}: null when it ended without being seen held. */
async function termIfHeld(emitted: string, args: string[]) {
  const strace = new Deno.Command("strace", {
    args: [
      "-f",
      "-qq",
      "-o",
      "/dev/null",
      "-P",
      emitted,
      "-e",
      "trace=openat",
      "-e",
      "inject=openat:delay_enter=3000000",
      ...cliCommand(),
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let ended = false;
  const output = strace.output().finally(() => ended = true);
  let cli = 0;
  let seen = 0;
  // Held: a thread seen in openat of `emitted` twice 20 ms apart (an unheld one takes microseconds).
  while (seen < 2 && !ended) {
    await new Promise((r) => setTimeout(r, 20));
    if (!cli) {
      const children = `/proc/${strace.pid}/task/${strace.pid}/children`;
      cli = Number(readFileSync(children, "utf8").trim().split(" ")[0]) || 0;
      continue;
    }
    seen = inOpenatOf(cli, emitted) ? seen + 1 : 0;
  }
  if (seen < 2) {
    await output;
    return null;
  }
  Deno.kill(cli, "SIGTERM");
  // strace ends as its tracee did: the same exit code, or killed by the same signal (143).
  const out = await output;
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** One line, start-up's handler's or, once it has taken over, the command's own (Deno may hand it the signal late). */
const INTERRUPTED = /^vigocli: [^\n]*interrupted \(SIGTERM\)[^\n]*\n$/;

Deno.test({
  name: "SIGTERM while crate restore-dump's module loads: exit 130, one line, nothing written",
  ignore: !hasStrace || !fromSources,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "startup-interrupt-" });
    try {
      const dump = join(dir, "d.sql");
      // Some megabytes: a few reads, each a turn of the event loop at which the signal is seen. With one
      // (a two-line dump) the whole restore could run before the runtime handed the signal over, and
      // end with 0 (seen once in six runs on a loaded machine).
      const rows = Array.from({ length: 100_000 }, (_, i) => `INSERT INTO t VALUES(${i}, 'row ${i}');\n`);
      writeFileSync(dump, `CREATE TABLE t(a, b);\n${rows.join("")}`);
      const outDir = join(dir, "out");
      mkdirSync(outDir);
      const args = ["crate", "restore-dump", dump, "-o", join(outDir, "restored.db")];
      // Emits the command's modules into Deno's cache (and shows the command works).
      const warm = await runCli([...args.slice(0, 4), join(outDir, "warm.db")]);
      assert.equal(warm.code, 0, warm.stderr);
      Deno.removeSync(join(outDir, "warm.db"));
      const r = await termWhileLoading("lib/cli/crate.ts", args, outDir);
      assert.equal(r.code, 130, r.stderr);
      assert.match(r.stderr, INTERRUPTED);
      assert.deepEqual(readdirSync(outDir), [], "the interrupted start left something");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "SIGTERM while backup create's module loads: exit 130, one line, no archive",
  ignore: !hasStrace || !fromSources,
  async fn() {
    const fx = await makeServerRoot({ rows: 50 });
    try {
      const outDir = join(fx.root, "out");
      mkdirSync(outDir);
      // Emits the command's modules into Deno's cache (and shows the command works).
      const warm = await runCli(["backup", "create", ...fx.flags, join(fx.root, "warm.tar.gz")]);
      assert.equal(warm.code, 0, warm.stderr);
      const r = await termWhileLoading("lib/cli/backup_create.ts", [
        "backup",
        "create",
        ...fx.flags,
        join(outDir, "a.tar.gz"),
      ], outDir);
      assert.equal(r.code, 130, r.stderr);
      assert.match(r.stderr, INTERRUPTED);
      assert.deepEqual(readdirSync(outDir), [], "the interrupted start left something");
    } finally {
      await Deno.remove(fx.root, { recursive: true });
    }
  },
});
