/**
 * A file backend put whose body fails and whose temporary file then cannot be removed: the body's
 * failure stays the error (an IoError with its path and exit code), and its line names the temporary
 * file left for the next run's sweep, which removes it. Before, the removal's raw error replaced the
 * failure. The removal fails in the kernel (strace, tests/helpers/unremovable_temp.ts); skipped, saying
 * so, without strace.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/cli.ts";
import { hasStrace, runWithUnremovableTemp } from "../helpers/unremovable_temp.ts";
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { IoError } from "../../lib/errors.ts";

if (!hasStrace) console.warn("file_put_left_temp_test: skipped, strace is not installed");

/** A child that puts `a/b.bin` under `root` from a stream that fails once the temporary file exists. */
function failingPut(root: string): string {
  return `
    import { readdirSync } from "node:fs";
    import { FileBackend } from "${REPO_ROOT}lib/backend/file/file_backend.ts";
    import { IoError } from "${REPO_ROOT}lib/errors.ts";
    const dir = ${JSON.stringify(join(root, "a"))};
    const stdin = Deno.stdin.readable.getReader();
    let sent = false;
    const body = new ReadableStream({
      async pull(c) {
        if (!sent) { sent = true; c.enqueue(new Uint8Array(1000)); return; }
        const name = readdirSync(dir).find((n) => n.includes(".tmp-"));
        console.log(JSON.stringify({ temp: dir + "/" + name }));
        await stdin.read();
        throw new IoError("/src/f: input/output error", { path: "/src/f" });
      },
    });
    try {
      await new FileBackend(${JSON.stringify(`file://${root}`)}).put("a/b.bin", body);
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ io: e instanceof IoError, path: e.path ?? null, code: e.exitCode,
        message: e.message }));
    }`;
}

Deno.test({
  name: "file backend: a failed put whose temporary file cannot be removed keeps the failure",
  ignore: !hasStrace,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "vigo-file-left-temp-" });
    try {
      const { temp, outcome } = await runWithUnremovableTemp(failingPut(root));
      assert.deepEqual(outcome, {
        io: true,
        path: "/src/f",
        code: new IoError("x").exitCode,
        message: `/src/f: input/output error; its temporary file ${temp} could not be removed ` +
          "(permission denied) and is left for the next run's sweep",
      });
      assert.ok(existsSync(temp), `${temp} is not there`);
      // The next run's put into that directory sweeps it (its writer is dead).
      await new FileBackend(`file://${root}`).put("a/c.bin", new Uint8Array([1]));
      assert.deepEqual(readdirSync(join(root, "a")), ["c.bin"]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
