/**
 * obtainPassword in real processes (tests/crypto/obtain_password_script.ts), under Deno and Bun:
 * `--password-file` (newline stripping, world-readable warning), `VIGO_BACKUP_PASSWORD`, precedence,
 * the no-terminal error (run under `setsid` with stdin closed, so it must fail rather than hang), and
 * the no-echo prompt with confirmation on a real pseudo-terminal (util-linux `script`).
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { REPO_ROOT } from "../helpers/cli.ts";
import { npmTool } from "../helpers/tools.ts";

const SCRIPT = `${REPO_ROOT}tests/crypto/obtain_password_script.ts`;
const RUNTIMES: Record<string, string[]> = {
  deno: [Deno.execPath(), "run", "-A", "--quiet", SCRIPT],
  bun: [npmTool("bun"), SCRIPT],
};
const BASE_ENV = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp" };
const dec = new TextDecoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the driver in a new session (no controlling terminal), stdin closed, killed after 30 s. */
async function drive(runtime: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const [cmd, ...pre] = RUNTIMES[runtime];
  const child = new Deno.Command("setsid", {
    args: ["-w", cmd, ...pre, ...args],
    env: { ...BASE_ENV, ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function passwordOf(run: Run): string {
  assertEquals(run.code, 0, run.stderr);
  return JSON.parse(run.stdout).password;
}

async function passwordFile(content: string, mode: number): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "vigo-pw-" });
  await Deno.writeTextFile(path, content);
  await Deno.chmod(path, mode);
  return path;
}

for (const runtime of ["deno", "bun"]) {
  Deno.test(`${runtime}: no password source and no terminal fails at once with exit 6`, async () => {
    const start = performance.now();
    const run = await drive(runtime, ["--confirm"]);
    assertEquals(run.code, 6);
    assertEquals(
      run.stderr.trim(),
      "vigocli: no password: use --password-file, --password-command, VIGO_BACKUP_PASSWORD_FILE or VIGO_BACKUP_PASSWORD " +
        "(no terminal to prompt on)",
    );
    ok(performance.now() - start < 25_000, "took too long: it must not wait for input");
  });

  Deno.test(`${runtime}: the prompt asks twice without echo and re-asks on a mismatch`, async () => {
    const run = await onTerminal(runtime, ["--confirm"], ["first-try", "typo", "hunter2", "hunter2"]);
    assertEquals(JSON.parse(run.lastLine).password, "hunter2");
    ok(run.transcript.includes("passwords do not match, try again"), run.transcript);
    ok(!run.transcript.includes("first-try") && !run.transcript.includes("hunter2\r"), "password echoed");
  });
}

Deno.test("the prompt handles editing keys, re-asks an empty entry, and stops on Ctrl-C or Ctrl-D", async () => {
  // backspace removes a whole UTF-8 character; Ctrl-U clears the line
  const edited = await onTerminal("deno", [], ["h\u00e9x\x7fllo"]);
  assertEquals(JSON.parse(edited.lastLine).password, "h\u00e9llo");
  const cleared = await onTerminal("deno", [], ["", "junk\x15pw"]);
  ok(cleared.transcript.includes("empty password, try again"), cleared.transcript);
  assertEquals(JSON.parse(cleared.lastLine).password, "pw");
  const interrupted = await onTerminal("deno", [], ["abc\x03"], 130);
  ok(interrupted.transcript.includes("vigocli: interrupted at the password prompt"), interrupted.transcript);
  const eof = await onTerminal("deno", [], ["\x04"], 6);
  ok(eof.transcript.includes("vigocli: no password: end of input at the password prompt"), eof.transcript);
});

Deno.test("SIGTERM or SIGHUP at the prompt: exit 130, 'interrupted', the terminal no longer raw", async () => {
  for (const signal of ["SIGTERM", "SIGHUP"] as const) {
    // The inner shell prints its PID and becomes the driver; the outer one then shows the terminal's modes.
    const driver = RUNTIMES.deno.map((w) => `'${w}'`).join(" ");
    const inner = `echo PID=$$; exec ${driver}`;
    const child = new Deno.Command("script", {
      args: ["-qec", `sh -c '${inner.replaceAll("'", `'"'"'`)}'; echo EXIT=$?; stty -a`, "/dev/null"],
      env: BASE_ENV,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    let transcript = "";
    let sent = false;
    for await (const piece of child.stdout) {
      transcript += dec.decode(piece);
      const pid = /PID=(\d+)/.exec(transcript)?.[1];
      if (!sent && pid && transcript.includes("Archive password: ")) {
        sent = true;
        Deno.kill(Number(pid), signal);
      }
    }
    await child.stdin.close().catch(() => {});
    await child.status;
    clearTimeout(timer);
    ok(transcript.includes(`vigocli: interrupted (${signal})`), transcript);
    ok(transcript.includes("EXIT=130"), transcript);
    // stty -a lists "-echo"/"-icanon" when they are off.
    ok(/(^|\s)echo(\s|$)/m.test(transcript) && /(^|\s)icanon(\s|$)/m.test(transcript), transcript);
  }
});

Deno.test("a password typed that is not valid UTF-8 is re-asked, not decoded with U+FFFD", async () => {
  // Latin-1 "päss": before, it became "p\uFFFDss", the password of every other such byte there too.
  const run = await onTerminal("deno", [], [Uint8Array.of(0x70, 0xe4, 0x73, 0x73), "pw-after"]);
  ok(
    run.transcript.includes("password is not valid UTF-8 (is the terminal set to UTF-8?), try again"),
    run.transcript,
  );
  assertEquals(JSON.parse(run.lastLine).password, "pw-after");
});

Deno.test("VIGO_BACKUP_PASSWORD that is not valid UTF-8 is refused (exit 6), not decoded with U+FFFD", async () => {
  // Real bytes (Deno throws on reading them) and the U+FFFD that Bun reads them as.
  const driver = RUNTIMES.deno.map((w) => `'${w}'`).join(" ");
  const child = new Deno.Command("setsid", {
    args: ["-w", "sh", "-c", `VIGO_BACKUP_PASSWORD=$(printf 'p\\344ss') exec ${driver}`],
    env: BASE_ENV,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const want =
    "vigocli: VIGO_BACKUP_PASSWORD is not valid UTF-8 (it holds U+FFFD, the character invalid UTF-8 " +
    "decodes to; a password with that character can come from --password-file)";
  const out = await child.output();
  assertEquals([out.code, dec.decode(out.stderr).trim()], [6, want]);
  const replaced = await drive("deno", [], { VIGO_BACKUP_PASSWORD: "p\uFFFDss" });
  assertEquals([replaced.code, replaced.stderr.trim()], [6, want]);
});

Deno.test("--password-file: one trailing newline dropped, no warning when private", async () => {
  for (
    const [content, want] of [["s3cret\n", "s3cret"], ["s3cret", "s3cret"], ["a b\r\n", "a b"], [
      "x\n\n",
      "x\n",
    ]]
  ) {
    const path = await passwordFile(content, 0o600);
    const run = await drive("deno", ["--password-file", path]);
    assertEquals(passwordOf(run), want);
    assertEquals(run.stderr, "");
    await Deno.remove(path);
  }
});

Deno.test("--password-file: a world-readable file is used with a warning on stderr", async () => {
  const path = await passwordFile("s3cret\n", 0o644);
  const run = await drive("deno", ["--password-file", path]);
  assertEquals(passwordOf(run), "s3cret");
  ok(run.stderr.includes(`${path}: password file is world-readable`), run.stderr);
  ok(!run.stderr.includes("s3cret"), "the password leaked into stderr");
  await Deno.remove(path);
});

Deno.test("--password-file takes precedence over VIGO_BACKUP_PASSWORD, which precedes the terminal", async () => {
  const path = await passwordFile("from-file\n", 0o600);
  assertEquals(
    passwordOf(await drive("deno", ["--password-file", path], { VIGO_BACKUP_PASSWORD: "env" })),
    "from-file",
  );
  assertEquals(
    passwordOf(await drive("deno", ["--confirm"], { VIGO_BACKUP_PASSWORD: "from env" })),
    "from env",
  );
  await Deno.remove(path);
});

Deno.test("bad password sources are clear errors", async () => {
  const empty = await passwordFile("\n", 0o600);
  // A world-readable directory: refused as a directory, with no "world-readable" warning.
  const dir = await Deno.makeTempDir({ prefix: "vigo-pw-dir-" });
  await Deno.chmod(dir, 0o755);
  // Every password-file failure is one line calling it the password file, exit 6 ("no password").
  const cases: [string[], Record<string, string>, number, string][] = [
    [["--password-file", empty], {}, 6, `vigocli: ${empty}: password file is empty`],
    [["--password-file", "/nonexistent/pw"], {}, 6, "vigocli: /nonexistent/pw: password file not found"],
    [["--password-file", dir], {}, 6, `vigocli: ${dir}: password file is a directory`],
    [
      ["--password-file", `${empty}/pw`],
      {},
      6,
      `vigocli: ${empty}/pw: password file cannot be read (not a directory)`,
    ],
    [
      [],
      { VIGO_BACKUP_PASSWORD_FILE: "/nonexistent/pw" },
      6,
      "vigocli: /nonexistent/pw: password file not found",
    ],
    [[], { VIGO_BACKUP_PASSWORD: "" }, 6, "vigocli: VIGO_BACKUP_PASSWORD is set but empty"],
  ];
  for (const [args, env, code, message] of cases) {
    const run = await drive("deno", args, env);
    assertEquals([run.code, run.stderr.trim()], [code, message]);
  }
  await Deno.remove(empty);
  await Deno.remove(dir);
});

/**
 * Runs the driver on a fresh pseudo-terminal (`script`), typing each answer only after its prompt
 * appeared, and returns everything the terminal showed.
 */
async function onTerminal(runtime: string, args: string[], answers: (string | Uint8Array)[], code = 0) {
  const command = [...RUNTIMES[runtime], ...args].map((w) => `'${w}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env: BASE_ENV,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const writer = child.stdin.getWriter();
  let transcript = "";
  let answered = 0;
  for await (const piece of child.stdout) {
    transcript += dec.decode(piece);
    const prompts = transcript.match(/password: /gi)?.length ?? 0;
    while (answered < prompts && answered < answers.length) {
      const answer = answers[answered++];
      const bytes = typeof answer === "string" ? new TextEncoder().encode(answer) : answer;
      await writer.write(Uint8Array.from([...bytes, 0x0d]));
    }
  }
  await writer.close().catch(() => {});
  const status = await child.status;
  clearTimeout(timer);
  assertEquals(status.code, code, transcript);
  const lines = transcript.trim().split(/\r?\n/);
  return { transcript, lastLine: lines[lines.length - 1] };
}
