/**
 * A listen host that does not resolve (`--serve nonexistent.invalid:18107`, `replicate --addr …`) exits
 * 11 with one line naming the host and saying it cannot be resolved. Before, the failed lookup surfaced
 * as whatever errno listen() was left with ("cannot listen: ENOTTY: inappropriate ioctl for device").
 */
import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { createWriterDb } from "../helpers/litestream.ts";
import { makeRoot } from "../replicate/replicate_env.ts";

const ADDR = "nonexistent.invalid:18107";
const LINE =
  /^vigocli: nonexistent\.invalid:18107: cannot listen: cannot resolve host nonexistent\.invalid \(E[A-Z_]+\)\n$/;

Deno.test("status --serve and replicate --addr: an unresolvable host is exit 11, named", async () => {
  const r = await makeRoot();
  try {
    await createWriterDb(r.db);
    const root = ["--server-yaml", r.yaml, "--server-root", r.root];
    for (
      const args of [
        ["backup", "status", ...root, "--serve", ADDR, "--token", "x"],
        ["backup", "replicate", ...root, "--addr", ADDR],
      ]
    ) {
      const res = await runCli(args, { timeoutMs: 60_000 });
      assertEquals(res.code, 11, res.stderr);
      assertMatch(res.stderr, LINE);
    }
  } finally {
    await Deno.remove(r.root, { recursive: true });
  }
});
