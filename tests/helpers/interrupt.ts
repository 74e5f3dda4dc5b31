/**
 * Interrupting a CLI run at the moment it holds a temporary path: the signal goes out as soon as an
 * entry named `prefix…` appears in `dir`, which is where a cleanup registered one `await` too late
 * used to miss it (seen under qemu-user).
 */
import assert from "node:assert/strict";
import { spawnCli } from "./cli.ts";

/** The entry names in `dir`, sorted. */
export const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

/**
 * Starts `vigocli ARGS…`, sends `signal` once an entry named `prefix…` exists in `dir`, waits for the
 * exit and checks it was the interruption (exit 130, "interrupted" on stderr; with `--json` among the
 * arguments, stdout one error document of kind `interrupted`). Returns stderr.
 */
export function interruptAt(
  args: string[],
  dir: string,
  prefix: string,
  signal: Deno.Signal = "SIGINT",
): Promise<string> {
  return interruptWhen(args, () => names(dir).some((n) => n.startsWith(prefix)), signal);
}

/** Like {@link interruptAt}, the signal sent once `ready()` holds (polled every 5 ms, for at most 60 s). */
export async function interruptWhen(
  args: string[],
  ready: () => boolean,
  signal: Deno.Signal = "SIGINT",
): Promise<string> {
  const child = spawnCli(args);
  const deadline = Date.now() + 60_000;
  while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  child.kill(signal);
  // output() waits for the process to exit, so everything after sees its final state.
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, `${signal}: ${stderr}`);
  assert.match(stderr, /interrupted/);
  if (args.includes("--json")) {
    const document = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.deepEqual(
      {
        code: document.error?.code,
        kind: document.error?.kind,
        line: `vigocli: ${document.error?.message}\n`,
      },
      { code: 130, kind: "interrupted", line: stderr },
    );
  }
  return stderr;
}

/**
 * Like {@link interruptWhen}, the signal sent once the command's stderr has printed a line matching
 * `ready` (a phase it announces, where nothing on disk tells).
 */
export async function interruptOnStderr(
  args: string[],
  ready: RegExp,
  signal: Deno.Signal = "SIGINT",
): Promise<string> {
  const child = spawnCli(args);
  const stdout = new Response(child.stdout).arrayBuffer();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  let sent = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    stderr += value;
    if (!sent && ready.test(stderr)) {
      child.kill(signal);
      sent = true;
    }
  }
  const status = await child.status;
  await stdout;
  assert.ok(sent, `${args.join(" ")}: ended before printing ${ready}: ${stderr}`);
  assert.equal(status.code, 130, `${signal}: ${stderr}`);
  assert.match(stderr, /interrupted/);
  return stderr;
}
