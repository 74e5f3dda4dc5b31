/** Which command lines start again without FTL (lib/cli/lean_jit.ts); the restart itself: compile_test.ts. */
import assert from "node:assert/strict";
import { restartWithoutTopTier, runsLean } from "../../lib/cli/lean_jit.ts";

Deno.test("lean JIT: restore and verify, after any global flags; not their help, not other commands", () => {
  for (
    const argv of [
      ["backup", "restore", "a.tar.gz"],
      ["-q", "backup", "verify", "a.tar.gz", "--json"],
      ["--progress", "-v", "backup", "restore"],
    ]
  ) {
    assert.ok(runsLean(argv), argv.join(" "));
  }
  for (
    const argv of [
      ["backup", "create"],
      ["backup", "inspect", "a.tar.gz"],
      ["backup", "replicate"],
      ["backup", "replica", "restore"],
      ["backup", "drill"],
      ["backup", "restore", "--help"],
      ["help", "backup", "verify"],
      ["backup"],
      ["--json", "backup", "verify"],
      [],
    ]
  ) {
    assert.ok(!runsLean(argv), argv.join(" "));
  }
});

Deno.test("lean JIT: under Deno the process goes on as it is", () => {
  restartWithoutTopTier(["backup", "verify", "x.tar.gz"]);
  assert.equal(Deno.env.get("BUN_JSC_useFTLJIT"), undefined);
});
