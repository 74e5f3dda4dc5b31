/**
 * The native download into a file (`Backend.getInto`: S3 and GCS under Bun, the executables' runtime)
 * against s3rver behind a TCP proxy that misbehaves for real: every connection cut after 8 MiB of
 * answer, or the first answer stalled mid-body. The object must arrive whole, read on from the bytes
 * the file holds; a full disk is a final error naming the file. The download runs in a Bun child
 * (fixtures/download_into.ts): under Deno the backend has no native path.
 */
import net from "node:net";
import { join } from "node:path";
import { npmTool } from "../helpers/tools.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { openS3Backend } from "../../lib/backend/s3/s3_backend.ts";
import { patternStream, streamDigest } from "./conformance.ts";
import { assert, assertEquals } from "./assert.ts";
import { fileStream } from "../../lib/fsutil/file_stream.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const FIXTURE = new URL("./fixtures/download_into.ts", import.meta.url).pathname;
const MiB = 1024 * 1024;
const isRoot = Deno.uid() === 0;

/**
 * A TCP proxy to `port`: `cutAfter` bytes of answer per connection, then the connection is destroyed
 * (or, with `stall`, only the first connection stops forwarding and stays open).
 */
function misbehavingProxy(
  port: number,
  cutAfter: number,
  stall = false,
): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    const first = connections++ === 0;
    sockets.add(client).add(upstream);
    let sent = 0;
    client.on("data", (d) => upstream.write(d));
    upstream.on("data", (d: Buffer) => {
      if (stall && !first) return void client.write(d);
      const room = cutAfter - sent;
      if (room <= 0) return;
      sent += d.length;
      client.write(d.length > room ? d.subarray(0, room) : d);
      if (sent >= cutAfter && !stall) client.destroy();
    });
    // A stalled answer stays open however the server ends its side (s3rver closes an idle connection).
    const held = stall && first;
    client.on("error", () => {}).on("close", () => upstream.destroy());
    upstream.on("error", () => {}).on("close", () => held || client.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => (server.close(), sockets.forEach((s) => s.destroy())),
      }))
  );
}

async function downloadInto(
  extra: { cutAfter: number; stall?: boolean; timeoutMs?: number; outDir?: string },
): Promise<{ out: string; file: string; size: number; digest: string }> {
  const server = await startS3Server();
  const dir = extra.outDir ?? await Deno.makeTempDir({ prefix: "vigo-getinto-" });
  try {
    const size = 40 * MiB;
    const backend = openS3Backend(server.url("dl"), server.config());
    await backend.put("big.bin", patternStream(size, 7));
    const digest = (await streamDigest(patternStream(size, 7))).hex;
    const proxy = await misbehavingProxy(
      Number(new URL(server.config().endpoint).port),
      extra.cutAfter,
      extra.stall,
    );
    try {
      const file = join(dir, "big.bin");
      const cfg = {
        ...server.config(),
        endpoint: `http://127.0.0.1:${proxy.port}`,
        url: server.url("dl"),
        key: "big.bin",
        out: file,
        timeoutMs: extra.timeoutMs,
      };
      const res = await new Deno.Command(npmTool("bun"), {
        args: [FIXTURE],
        env: { S3_TEST_CONFIG: JSON.stringify(cfg) },
        stdout: "piped",
        stderr: "piped",
        // A download that waits for good (no watch on a silent answer) fails the test instead of hanging it.
        signal: AbortSignal.timeout(60_000),
      }).output();
      const out = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
      return { out, file, size, digest };
    } finally {
      proxy.close();
    }
  } finally {
    await server.stop();
  }
}

Deno.test({
  name: "s3 getInto (Bun): every connection cut after 8 MiB → read on from the file's length, whole object",
  ...opts,
  async fn() {
    const r = await downloadInto({ cutAfter: 8 * MiB });
    try {
      assert(r.out.includes(`done ${r.size}`), r.out);
      assert(
        /retry 1\/6 in \d+ ms: get s3:\/\/vigo-test\/dl\/big\.bin: connection lost after \d+ bytes/.test(
          r.out,
        ),
        r.out,
      );
      assertEquals((await Deno.stat(r.file)).size, r.size);
      assertEquals((await streamDigest(fileStream(r.file))).hex, r.digest);
    } finally {
      await Deno.remove(join(r.file, ".."), { recursive: true });
    }
  },
});

Deno.test({
  name: "s3 getInto (Bun): an answer stalled mid-body for longer than the timeout is read on, not waited for",
  ...opts,
  async fn() {
    const r = await downloadInto({ cutAfter: 5 * MiB, stall: true, timeoutMs: 1500 });
    try {
      assert(r.out.includes(`done ${r.size}`), r.out);
      assert(/retry 1\/6 .*connection lost after 52\d{5} bytes/.test(r.out), r.out);
      assertEquals((await streamDigest(fileStream(r.file))).hex, r.digest);
    } finally {
      await Deno.remove(join(r.file, ".."), { recursive: true });
    }
  },
});

Deno.test({
  name: "s3 getInto (Bun): a full disk is a final error naming the file, not a lost connection",
  ignore: !isRoot,
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-getinto-full-" });
    await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir] }).output();
    try {
      const r = await downloadInto({ cutAfter: Infinity, outDir: dir });
      assert(r.out.includes(`failed IoError: ${r.file}: no space left on device`), r.out);
      assert(!/retry \d/.test(r.out), r.out);
    } finally {
      await new Deno.Command("umount", { args: [dir] }).output();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
