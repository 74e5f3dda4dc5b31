/**
 * `deno task compile` end to end: one build of both executables into a scratch directory, then the
 * files as shipped — checksums, ELF headers, `--version` per architecture, and runs on a "bare host"
 * (repository, $HOME and network hidden, see isolated.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  compile,
  type CompileResult,
  runnerFor,
  sha256File,
  sourceFacts,
  TARGETS,
} from "../../scripts/compile.ts";
import { readElfNeeds } from "../../scripts/elf_info.ts";
import { runIsolated } from "./isolated.ts";

const scratch = await Deno.makeTempDir({ prefix: "vigocli-compile-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(scratch, { recursive: true }));
let built: Promise<CompileResult> | undefined;
const logLines: string[] = [];

/** Builds once per test file; every test below shares the result. */
function build(): Promise<CompileResult> {
  built ??= compile({
    outdir: join(scratch, "dist"),
    targets: TARGETS,
    compiler: "auto",
    log: (l) => logLines.push(l),
  });
  return built;
}

/** Parses `label: value` lines of `--version`. */
function versionFields(stdout: string): Record<string, string> {
  const [first, ...rest] = stdout.trim().split("\n");
  const fields: Record<string, string> = { first };
  for (const line of rest) {
    const m = /^([a-z]+):\s+(.*)$/.exec(line);
    assert.ok(m, `unexpected --version line: ${line}`);
    fields[m[1]] = m[2];
  }
  return fields;
}

Deno.test("compile: says which compiler it used and why (bun here: no deno compile runtime)", async () => {
  const result = await build();
  assert.match(logLines[0], new RegExp(`^compile: using ${result.compiler} \\d+\\.\\d+\\.\\d+ — `));
  if (result.compiler === "bun") assert.match(result.why, /no deno compile runtime for/);
  else assert.match(result.why, /available/);
});

Deno.test("compile: writes both executables and a SHA256SUMS that sha256sum -c accepts", async () => {
  const result = await build();
  const dist = join(scratch, "dist");
  const names = [...Deno.readDirSync(dist)].map((e) => e.name).sort();
  assert.deepEqual(names, ["SHA256SUMS", "vigocli-aarch64-linux", "vigocli-x86_64-linux"]);
  const sums = await Deno.readTextFile(join(dist, "SHA256SUMS"));
  for (const f of result.files) {
    assert.equal((await Deno.stat(f.path)).mode! & 0o777, 0o755, `${f.path} is not rwxr-xr-x`);
    assert.equal(await sha256File(f.path), f.sha256);
    assert.ok(sums.includes(`${f.sha256}  ${f.target.file}\n`), `SHA256SUMS lacks ${f.target.file}`);
  }
  const check = await new Deno.Command("sha256sum", { args: ["-c", "SHA256SUMS"], cwd: dist }).output();
  assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
  // a flipped byte in a copy must be caught, or the check above proves nothing
  const copy = await Deno.makeTempDir({ dir: scratch, prefix: "tampered-" });
  for (const name of names) await Deno.copyFile(join(dist, name), join(copy, name));
  const fh = await Deno.open(join(copy, result.files[0].target.file), { read: true, write: true });
  await fh.seek(4096, Deno.SeekMode.Start);
  const byte = new Uint8Array(1);
  await fh.read(byte);
  await fh.seek(4096, Deno.SeekMode.Start);
  await fh.write(new Uint8Array([byte[0] ^ 0xff]));
  fh.close();
  const tampered = await new Deno.Command("sha256sum", { args: ["-c", "--quiet", "SHA256SUMS"], cwd: copy })
    .output();
  assert.notEqual(tampered.code, 0);
});

Deno.test("compile: each file is an ELF for its machine needing only glibc >= 2.17", async () => {
  const result = await build();
  for (const f of result.files) {
    const needs = await readElfNeeds(f.path);
    assert.equal(needs.machine, f.target.arch);
    assert.deepEqual(
      Object.keys(needs.versions).filter((lib) =>
        !/^(libc|libm|libdl|libpthread|ld-linux-[\w-]+)\.so\.\d$/.test(lib)
      ),
      [],
      "needs a library outside glibc",
    );
    assert.equal(needs.glibcFloor, "2.17");
  }
});

Deno.test("compile: --version of each executable names commit, commit date, compiler, runtime, sqlite, arch", async () => {
  const result = await build();
  const facts = await sourceFacts();
  const cwd = await Deno.makeTempDir({ dir: scratch, prefix: "cwd-" });
  for (const f of result.files) {
    const exe = join(cwd, f.target.file);
    await Deno.copyFile(f.path, exe);
    const r = await runIsolated(f.target, exe, ["--version"], cwd);
    assert.equal(r.code, 0, r.stderr);
    const v = versionFields(r.stdout);
    assert.match(v.first, /^vigocli \d+\.\d+\.\d+$/);
    assert.equal(v.commit, facts.commit);
    assert.match(v.commit, /^[0-9a-f]{40}(-dirty)?$/);
    assert.equal(v.built, facts.date);
    assert.match(v.built, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(
      v.compiler,
      result.compiler === "bun" ? /^bun \d+\.\d+\.\d+ \(bun build --compile/ : /^deno /,
    );
    assert.match(v.runtime, result.compiler === "bun" ? /^bun \d+\.\d+\.\d+$/ : /^deno /);
    assert.match(v.sqlite, /^3\.\d+\.\d+$/);
    assert.equal(v.target, `${f.target.arch}-linux`);
    assert.equal(v.arch, `${f.target.arch}-linux`);
  }
});

Deno.test("compile: executables run with the repo, $HOME and network hidden, and ignore bunfig.toml", async () => {
  const result = await build();
  const cwd = await Deno.makeTempDir({ dir: scratch, prefix: "bare-" });
  // a compiled Bun program reads these from its working directory unless told not to; the preload
  // would run attacker code in a restore started from a hostile directory
  await Deno.writeTextFile(join(cwd, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
  await Deno.writeTextFile(join(cwd, "evil.ts"), 'require("node:fs").writeFileSync("PWNED", "x");\n');
  for (const f of result.files) {
    const exe = join(cwd, f.target.file);
    await Deno.copyFile(f.path, exe);
    const help = await runIsolated(f.target, exe, ["--help"], cwd);
    assert.equal(help.code, 0, help.stderr);
    for (
      const path of ["backup create", "backup restore", "backup replicate", "secret", "crate", "snapshot"]
    ) {
      assert.match(help.stdout, new RegExp(`^  vigocli ${path}\\b`, "m"), `--help lacks vigocli ${path}`);
    }
    const bad = await runIsolated(f.target, exe, ["backup", "no-such-command"], cwd);
    assert.equal(bad.code, 2, `usage error exit code: ${bad.stdout}${bad.stderr}`);
    await assert.rejects(Deno.stat(join(cwd, "PWNED")), Deno.errors.NotFound, "bunfig.toml preload ran");
  }
});

/** `exe args…` under strace: its execve calls (with their environment), exit code and stderr. */
async function tracedExecve(exe: string, args: string[], env: Record<string, string>, inject: string[] = []) {
  const log = join(scratch, `execve-${crypto.randomUUID()}.log`);
  const out = await new Deno.Command("strace", {
    args: ["-f", "-qq", "-v", "-s", "4096", "-e", "trace=execve", ...inject, "-o", log, exe, ...args],
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const calls = (await Deno.readTextFile(log)).split("\n").filter((l) => /execve\(/.test(l));
  return { calls, code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("compile: an archive reader starts itself again in place without FTL; nothing else does", async () => {
  const result = await build();
  if (result.compiler !== "bun") return;
  const exe = result.files.find((f) => runnerFor(f.target)?.length === 0)!.path;
  const missing = join(scratch, "no-such-archive.tar.gz");
  const traced = (args: string[], env: Record<string, string> = {}, inject: string[] = []) =>
    tracedExecve(exe, args, env, inject);
  const restarted = await traced(["backup", "verify", missing]);
  assert.equal(restarted.calls.length, 2, restarted.calls.join("\n"));
  assert.match(restarted.calls[1], /execve\("\/proc\/self\/exe", \[/);
  assert.ok(restarted.calls[1].includes(`"backup", "verify", "${missing}"]`), restarted.calls[1]);
  assert.match(restarted.calls[1], /"BUN_JSC_useFTLJIT=0"/);
  assert.doesNotMatch(restarted.calls[0], /BUN_JSC_useFTLJIT/);
  // The operator's own value is kept (and so is FTL): one start, and the same outcome.
  const kept = await traced(["backup", "verify", missing], { BUN_JSC_useFTLJIT: "1" });
  assert.equal(kept.calls.length, 1, kept.calls.join("\n"));
  assert.equal(restarted.code, kept.code);
  assert.equal(restarted.stderr, kept.stderr);
  // One line, the command's own: the runtime took the option without a word.
  assert.match(restarted.stderr, /^[^\n]*no-such-archive[^\n]*\n$/);
  // An exec that fails (strace makes the restart's execve fail with EACCES; it does not count the one that
  // started the program) leaves the command in the first process, its output the same: no line about it.
  const refused = await traced(["backup", "verify", missing], {}, [
    "-e",
    "inject=execve:error=EACCES:when=1",
  ]);
  assert.equal(refused.calls.length, 2, refused.calls.join("\n"));
  assert.match(refused.calls[1], /= -1 EACCES/);
  assert.equal(refused.code, kept.code);
  assert.equal(refused.stderr, kept.stderr);
  for (const args of [["backup", "inspect", missing], ["backup", "verify", "--help"], ["--version"]]) {
    const once = await traced(args);
    assert.equal(once.calls.length, 1, `${args.join(" ")}: ${once.calls.join("\n")}`);
  }
});

Deno.test("compile: an S3 or GCS download starts itself again without the JIT; file:// and sftp:// do not", async () => {
  const result = await build();
  if (result.compiler !== "bun") return;
  const exe = result.files.find((f) => runnerFor(f.target)?.length === 0)!.path;
  const yaml = join(scratch, "download-server.yaml");
  // `../x` is refused by the command after the decision.
  const traced = (args: string[], env: Record<string, string> = {}) =>
    tracedExecve(exe, ["backup", "download", "../x", ...args], env);
  const none = ["--server-yaml", join(scratch, "none.yaml")];
  const plain = await traced(["--url", "file:///var/tmp/x", ...none]);
  assert.equal(plain.calls.length, 1, plain.calls.join("\n"));
  for (const url of ["s3://bucket/p", "GCS://bucket/p"]) {
    const r = await traced(["--url", url, ...none]);
    assert.equal(r.calls.length, 2, `${url}: ${r.calls.join("\n")}`);
    assert.match(r.calls[1], /"BUN_JSC_useJIT=0"/);
    // The same one line and exit code as a run that did not restart.
    assert.deepEqual([r.code, r.stderr], [plain.code, plain.stderr]);
  }
  assert.equal((await traced(["--url", "sftp://h/p", ...none])).calls.length, 1);
  // From server.yaml's backup.url, its secret unresolved (a missing secret decides nothing).
  await Deno.writeTextFile(
    yaml,
    "database:\n  driver: sqlite\nbackup:\n  url: s3://bucket/p\n  secret_access_key: secret:nope\n",
  );
  const configured = await traced(["--server-yaml", yaml]);
  assert.equal(configured.calls.length, 2, configured.calls.join("\n"));
  // The operator's own value is kept: one start.
  assert.equal((await traced(["--url", "s3://bucket/p", ...none], { BUN_JSC_useJIT: "1" })).calls.length, 1);
});

Deno.test("compile: a Bun executable carries the poly1305 stand-in, not ssh2's WebAssembly poly1305", async () => {
  const result = await build();
  if (result.compiler !== "bun") return;
  // ssh2's module is an Emscripten factory of that name; the stand-in's error names itself
  const ssh2Module = new TextEncoder().encode("createPoly1305");
  const standIn = new TextEncoder().encode("its poly1305 is left out under Bun");
  for (const f of result.files) {
    const exe = await Deno.readFile(f.path);
    assert.equal(indexOf(exe, ssh2Module), -1, `${f.target.file} holds ssh2's poly1305 module`);
    assert.ok(indexOf(exe, standIn) >= 0, `${f.target.file} lacks the stand-in`);
  }
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  for (
    let i = hay.indexOf(needle[0]);
    i >= 0 && i <= hay.length - needle.length;
    i = hay.indexOf(needle[0], i + 1)
  ) {
    if (needle.every((b, j) => hay[i + j] === b)) return i;
  }
  return -1;
}
