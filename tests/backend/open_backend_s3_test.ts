/** openBackend("s3://…" / "gcs://…") opens a retrying backend configured from the `backup:` fields. */
import { openBackend } from "../../lib/backends.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { assertEquals } from "./assert.ts";
import { startFaultProxy } from "./fault_proxy.ts";

Deno.test({
  name: "openBackend: s3:// and gcs:// (HMAC) from their own settings, wrapped in retries",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startS3Server();
    const proxy = startFaultProxy(server.endpoint);
    try {
      const keys = { ...server.config(), endpoint: proxy.endpoint };
      const s3 = await openBackend(server.url("ob"), { scheme: "s3", ...keys });
      assertEquals(s3.url, `s3://${server.bucket}/ob`);
      proxy.failNext(2);
      await s3.put("x.txt", new TextEncoder().encode("via openBackend"));
      assertEquals(proxy.pending(), 0);
      const gcsUrl = `gcs://${server.bucket}/ob`;
      const gcs = await openBackend(gcsUrl, { scheme: "gcs", ...keys });
      proxy.failNext(1);
      assertEquals(await new Response(await gcs.get("x.txt")).text(), "via openBackend");
    } finally {
      await proxy.stop();
      await server.stop();
    }
  },
});
