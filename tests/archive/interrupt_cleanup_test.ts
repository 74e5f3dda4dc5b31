/**
 * lib/archive/interrupt_cleanup.ts on its own: what stopped work registers while the interruption
 * waits for it is removed before the exit too, not only what was registered when the signal came.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";

Deno.test("a path registered while an interruption settles is removed before the exit", async () => {
  const dir = await Deno.makeTempDir();
  const late = join(dir, "late.tmp");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(import.meta.dirname!, "interrupt_settle_child.ts"), late],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = child.stdout.getReader();
  let seen = "";
  while (!seen.includes("ready\n")) {
    const { value, done } = await out.read();
    if (done) break;
    seen += new TextDecoder().decode(value);
  }
  await out.cancel();
  child.kill("SIGINT");
  const [{ code }, err] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assert.equal(code, 130, err);
  assert.match(err, /stopped: undone/);
  assert.equal(existsSync(late), false, `${late} was left`);
  await Deno.remove(dir, { recursive: true });
});
