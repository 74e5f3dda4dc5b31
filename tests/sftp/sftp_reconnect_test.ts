/**
 * sshd SIGKILLed (with its session processes) in the middle of a streamed upload, then restarted on
 * the same port: the interrupted put fails, nothing partial is listed or readable, the previous
 * version of the object survives, and the same (retry-wrapped) backend reconnects by itself — a stat
 * issued while the server is still down succeeds once it is back, and the next put completes. The
 * interrupted put's temp file is removed by a listing once it is a week old, a fresh one is not.
 */
import { openBackend } from "../../lib/backends.ts";
import type { SftpBackupConfig } from "../../lib/backends.ts";
import { BackendError } from "../../lib/errors.ts";
import { assert, assertEquals, assertRejects } from "../backend/assert.ts";
import { patternStream, streamDigest } from "../backend/conformance.ts";
import { startSshd } from "../helpers/sshd.ts";

const MiB = 1024 * 1024;

/** 1 MiB chunks, slowly after the first few, so the kill lands mid-upload. */
function slowBody(total: number, onChunk: (n: number) => void): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (sent >= total) return ctl.close();
      sent++;
      onChunk(sent);
      await new Promise((r) => setTimeout(r, sent > 4 ? 100 : 0));
      ctl.enqueue(new Uint8Array(MiB).fill(sent & 0xff));
    },
  });
}

Deno.test({
  name: "sftp: sshd killed mid-upload and restarted: no partial object, the backend reconnects",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sshd = await startSshd();
    const cfg: SftpBackupConfig = {
      scheme: "sftp",
      keyPath: sshd.clientKey,
      knownHostsPath: sshd.knownHosts,
    };
    const b = await openBackend(sshd.url("r"), cfg);
    try {
      await b.put("obj.bin", new TextEncoder().encode("previous version"));
      let killed: Promise<void> | undefined;
      const upload = b.put(
        "obj.bin",
        slowBody(40, (n) => {
          if (n === 8) killed = sshd.kill();
        }),
      );
      const err = await assertRejects(() => upload, BackendError);
      assert(/connection|closed|No response/i.test(err.message), err.message);
      await killed;

      // While the server is down, a stat through the retry wrapper keeps trying…
      const stat = b.stat("obj.bin");
      await new Promise((r) => setTimeout(r, 700));
      await sshd.restart();
      // …and reconnects once it is back: the interrupted upload left the old object whole.
      assertEquals((await stat)?.size, "previous version".length);
      assertEquals(await new Response(await b.get("obj.bin")).text(), "previous version");
      const listed = [];
      for await (const o of b.list("")) listed.push(o.key);
      assertEquals(listed, ["obj.bin"], "the interrupted temp file is never listed");
      const leftovers = [...Deno.readDirSync(`${sshd.dataDir}/r`)].map((e) => e.name);
      const leftover = leftovers.find((n) => /^\.obj\.bin\.tmp-/.test(n));
      assert(leftover, `temp file on disk: ${leftovers}`);
      // A week later the leftover is garbage: the next listing removes it, but not a fresh temp file.
      const dir = `${sshd.dataDir}/r`;
      const weekAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
      Deno.utimeSync(`${dir}/${leftover}`, weekAgo, weekAgo);
      Deno.writeTextFileSync(`${dir}/.other.bin.tmp-0123456789ab`, "a put in progress");
      for await (const _ of b.list("")) { /* the listing sweeps */ }
      assertEquals(
        [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".tmp-")),
        [".other.bin.tmp-0123456789ab"],
      );

      // The next put over the new connection completes and is read back whole.
      await b.put("obj.bin", patternStream(12 * MiB + 5, 9));
      assertEquals(
        await streamDigest(await b.get("obj.bin")),
        await streamDigest(patternStream(12 * MiB + 5, 9)),
      );
    } finally {
      await b.close();
      await sshd.cleanup();
    }
  },
});
