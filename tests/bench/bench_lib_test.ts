/**
 * The benchmark's shell runner: every stage of a pipeline counts, for the exit status and peak RSS; replica
 * restores each start from the same state, in an order that rotates by run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { measureRestoresInTurn, measureShell, rotate, sh } from "../../bench/bench_lib.ts";

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

Deno.test("measureRestoresInTurn: every output removed before each restore, the order rotating by run", async () => {
  assert.deepEqual(rotate(["a", "b", "c"], 4), ["b", "c", "a"]);
  const dir = await Deno.makeTempDir({ prefix: "vigo-bench-turns-" });
  try {
    const log = sh(join(dir, "log"));
    // Each restore logs how many outputs it found, then writes its own.
    const restore = (k: string) =>
      `{ ls ${sh(dir)} | grep -c '[.]db$' || true; } >> ${log}; ` +
      `echo ${k} >> ${log}; ` +
      `touch ${sh(join(dir, `${k}.db`))}`;
    // A stand-in for the 3 GiB prefault (~15 s of the suite), logged to show it runs before each restore.
    const measured = await measureRestoresInTurn(
      { a: restore("a"), b: restore("b"), c: restore("c") },
      ["a", "b", "c"].map((k) => join(dir, `${k}.db`)),
      4,
      `echo p >> ${log}`,
    );
    assert.deepEqual(Object.keys(measured).sort(), ["a", "b", "c"]);
    assert.equal(await Deno.readTextFile(join(dir, "log")), "p\n0\nb\np\n0\nc\np\n0\na\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
