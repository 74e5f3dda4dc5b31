/**
 * Runs a library script in a child whose temporary file cannot be removed, for real in the kernel: the
 * script prints `{"temp": PATH}` once it knows its temporary file's name and waits for a line on stdin;
 * strace then attaches to the child and injects EACCES into every unlink of that path (its `-P` matches
 * the path as given), and the script goes on and prints its outcome as its last line of JSON. With
 * `everyPath`, every unlink of the child fails (what it printed is then only handed back). `failLinks`
 * also fails the child's link(2) with EEXIST, as a file made at its target meanwhile would. `syscalls`
 * narrows the unlinks failed: "unlinkat" alone fails the removal of directory trees (Rust's remove_dir_all,
 * under rm's recursive), not a single file's (unlink(2), which SQLite uses for its journals too).
 */
import assert from "node:assert/strict";

export const hasStrace = new Deno.Command("sh", { args: ["-c", "command -v strace"] }).outputSync().success;

const UNLINKS = "unlink,unlinkat";
const LINKS = "link,linkat";

/**
 * A script for {@link runWithUnremovableTemp} with `everyPath`: after `imports`, it waits for strace, then
 * awaits `call` (an expression) and prints `{"ok": true}`, or the error's exit code and message.
 */
export function everyUnlinkFailing(imports: string, call: string): string {
  return `
    ${imports}
    console.log(JSON.stringify({ temp: "" }));
    Deno.stdin.readSync(new Uint8Array(8));
    try {
      await ${call};
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ code: e.exitCode, message: e.message }));
    }`;
}

/** The script's temporary path and the JSON of its last line. */
export async function runWithUnremovableTemp(
  script: string,
  /** For a write whose temporary name is known only once it has failed. */
  everyPath = false,
  failLinks = false,
  syscalls = UNLINKS,
): Promise<{ temp: string; outcome: Record<string, unknown> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await lines.read();
    if (done) break;
    text += value;
  }
  const temp = JSON.parse(text.slice(0, text.indexOf("\n"))).temp as string;
  const strace = await failUnlinks(child.pid, everyPath ? undefined : temp, failLinks, syscalls);
  const go = child.stdin.getWriter();
  await go.write(new TextEncoder().encode("go\n"));
  await go.close();
  while (true) {
    const { done, value } = await lines.read();
    if (done) break;
    text += value;
  }
  await child.status;
  await strace.stderr.cancel().catch(() => {});
  await strace.status;
  const last = text.trim().split("\n").at(-1)!;
  return { temp, outcome: JSON.parse(last) };
}

/**
 * Attaches strace to the running process `pid` so that every unlink of `path` (of any path when absent)
 * fails with EACCES (and with `failLinks` every link with EEXIST); resolves with strace once the process is
 * in its hands.
 */
export async function failUnlinks(
  pid: number,
  path?: string,
  failLinks = false,
  syscalls = UNLINKS,
): Promise<Deno.ChildProcess> {
  const strace = new Deno.Command("strace", {
    args: [
      "-f",
      "-o",
      "/dev/null",
      "-p",
      String(pid),
      ...(path === undefined ? [] : ["-P", path]),
      "-e",
      `trace=${syscalls}${failLinks ? `,${LINKS}` : ""}`,
      "-e",
      `inject=${syscalls}:error=EACCES`,
      ...(failLinks ? ["-e", `inject=${LINKS}:error=EEXIST`] : []),
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // strace says "Process N attached" on stderr once the process is in its hands.
  const said = strace.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let attached = "";
  while (!/attached/.test(attached)) {
    const { done, value } = await said.read();
    if (done) break;
    attached += value;
  }
  said.releaseLock();
  assert.match(attached, /attached/, `strace could not attach: ${attached}`);
  return strace;
}
