/** The benchmark's shell runner: every stage of a pipeline counts, for the exit status and peak RSS. */
import assert from "node:assert/strict";
import { measureShell } from "../../bench/bench_lib.ts";

Deno.test("measureShell: a pipeline whose first stage fails is a failure, not a fast peer", async () => {
  await assert.rejects(
    measureShell("cat /nonexistent/vigocli-bench-input | gzip -n > /dev/null"),
    /bench command failed \(exit 1 of its last failing stage\): cat \/nonexistent/,
  );
  await assert.rejects(measureShell("true", undefined, "false | true"), /bench preparation failed/);
  assert.equal((await measureShell("true | cat", undefined, "true | true")).code, 0);
});

Deno.test("measureShell: peak RSS covers a stage before the last one", async () => {
  const m = await measureShell(`python3 -c 'b = b"x" * (64 << 20)' | cat`);
  assert.ok(m.peakRssMiB >= 64, `${m.peakRssMiB} MiB`);
});
