/**
 * Under Bun (the executables' runtime) a streamed PUT bounds the garbage of both its passes, the hash
 * pass and the send, with a GarbageBound: neither pass may read the whole file into buffers that nothing
 * collects before it ends (README, Design, "A streamed PUT bounds its garbage").
 */
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/cli.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { npmTool } from "../helpers/tools.ts";
import { assert, assertEquals } from "./assert.ts";
import { streamDigest } from "./conformance.ts";
import { openS3Backend } from "../../lib/backend/s3/s3_backend.ts";

const MiB = 1024 * 1024;

Deno.test({
  name: "s3: under Bun a 64 MiB streamed PUT collects while it hashes and while it sends",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startS3Server();
    const dir = await Deno.makeTempDir({ prefix: "vigo-s3-put-bound-" });
    try {
      const path = join(dir, "blob.bin");
      const bytes = new Uint8Array(64 * MiB);
      for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
      await Deno.writeFile(path, bytes);
      const cfg = { url: server.url("bound"), ...server.config() };
      const out = await new Deno.Command(npmTool("bun"), {
        args: [`${REPO_ROOT}tests/backend/fixtures/bun_single_put_gc_probe.ts`, path, JSON.stringify(cfg)],
        env: { PATH: Deno.env.get("PATH") ?? "" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const collections: { pass: string; read: number }[] = JSON.parse(new TextDecoder().decode(out.stdout));
      // Without the bound: one collection, between the passes ({ pass: "none" }). How many come during a
      // pass depends on how much of its garbage the runtime frees by itself: the send pass of a run under
      // load collected once (at 9.25 MiB), so one is what is required.
      for (const pass of ["hash", "send"]) {
        const during = collections.filter((c) => c.pass === pass && c.read < bytes.length);
        assert(during.length >= 1, `${pass} pass: collections ${JSON.stringify(collections)}`);
      }
      const b = openS3Backend(server.url("bound"), server.config());
      assertEquals(
        await streamDigest(await b.get("probe.bin")),
        await streamDigest(new Blob([bytes]).stream()),
      );
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
