/** The startup area measures the executable `--bin` names, and says which executables it measured. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { executables } from "../../bench/startup_bench.ts";

Deno.test("startup executables: --bin's file, the aarch64 one beside it only when there is one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-bench-startup-" });
  try {
    const bin = join(dir, "vigocli-under-test");
    await Deno.writeTextFile(bin, "");
    const ctx = { workDir: dir, scale: 0.05, vigocli: [bin] };
    assert.deepEqual(await executables(ctx), {
      files: { x86_64: bin, aarch64: undefined },
      origin: "from --bin",
    });
    await Deno.writeTextFile(join(dir, "vigocli-aarch64-linux"), "");
    assert.deepEqual(await executables(ctx), {
      files: { x86_64: bin, aarch64: join(dir, "vigocli-aarch64-linux") },
      origin: "from --bin",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
