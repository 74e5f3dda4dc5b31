/**
 * A real `backup restore` that receives a signal at one chosen rename of its commit, delivered by
 * strace at that syscall's entry (SIGKILL: the rename never happens). Which rename comes from a traced
 * restore of a copy of the root; strace 6.1's `-P` cannot pick it, as it matched only the rename that
 * moved an old file aside, not the one naming it as the destination.
 */
import assert from "node:assert/strict";
import { cliCommand } from "../helpers/cli.ts";

/** strace's result and the restore's stderr. */
export interface SignalledRestore {
  code: number;
  stderr: string;
}

/**
 * Restores `archive` into `root` (`--force`), with `signal` at the first rename `pick` chooses from the
 * copy's trace lines (`copy` is the copy's path, as the lines name it).
 */
export async function restoreSignalledAt(
  archive: string,
  root: string,
  signal: "SIGKILL" | "SIGTERM",
  pick: (line: string, copy: string) => boolean,
): Promise<SignalledRestore> {
  const copy = `${root}-copy`;
  await run("cp", "-a", root, copy);
  // Once untraced first: a run from sources whose modules changed writes Deno's transpile cache, by
  // renames the counted run would include and the signalled one not.
  const [cmd, ...args] = cliCommand();
  await run(cmd, ...args, "backup", "restore", archive, "--target", copy, "--force");
  await Deno.remove(copy, { recursive: true });
  await run("cp", "-a", root, copy);
  const trace = `${root}-trace.txt`;
  await traced(["-o", trace], archive, copy);
  const renames = (await Deno.readTextFile(trace)).split("\n").filter((l) => /rename/.test(l));
  const at = renames.findIndex((l) => pick(l, copy));
  assert.ok(at >= 0, renames.join("\n"));
  await Deno.remove(copy, { recursive: true });
  await Deno.remove(trace);
  return await traced(
    ["-o", "/dev/null", "-e", `inject=rename,renameat,renameat2:signal=${signal}:when=${at + 1}`],
    archive,
    root,
  );
}

async function traced(flags: string[], archive: string, root: string): Promise<SignalledRestore> {
  const args = ["-f", "-qq", "-e", "trace=rename,renameat,renameat2", ...flags, ...cliCommand()];
  args.push("backup", "restore", archive, "--target", root, "--force");
  const out = await new Deno.Command("strace", { args, stdout: "null", stderr: "piped" }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function run(cmd: string, ...args: string[]): Promise<void> {
  assert.equal((await new Deno.Command(cmd, { args }).output()).code, 0, `${cmd} ${args.join(" ")}`);
}
