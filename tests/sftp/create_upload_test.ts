/**
 * `backup create --upload`'s two-way sink (local file + remote archive) when the upload dies part-way:
 * sshd SIGKILLed while the archive streams to it. The writer sees the backend's error (exit 7, not a
 * bare "cancelled"), the local file is not left half-made, and after sshd is back nothing is listed
 * under archives/ — then a new upload through the same backend completes with its sidecar.
 */
import { openSftpBackend } from "../../lib/backend/sftp/sftp_backend.ts";
import { listRemoteArchives } from "../../lib/archive/remote_archives.ts";
import { openCreateSink } from "../../lib/cli/create_upload.ts";
import { BackendError } from "../../lib/errors.ts";
import { assert, assertEquals, assertRejects } from "../backend/assert.ts";
import { startSshd } from "../helpers/sshd.ts";

const MiB = 1024 * 1024;

Deno.test({
  name: "create --upload sink: sshd killed mid-upload → backend error, no local file, nothing listed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sshd = await startSshd();
    const local = await Deno.makeTempDir({ prefix: "vigo-upload-local-" });
    const backend = await openSftpBackend(sshd.url("remote"), {
      keyPath: sshd.clientKey,
      knownHostsPath: sshd.knownHosts,
    });
    try {
      const sink = await openCreateSink({
        local: `${local}/a.tar.gz`,
        remote: { backend, name: "a.tar.gz" },
      });
      const w = sink.writable.getWriter();
      const err = await assertRejects(async () => {
        for (let i = 0; i < 64; i++) {
          if (i === 6) await sshd.kill();
          await w.write(new Uint8Array(MiB).fill(i));
          await new Promise((r) => setTimeout(r, 20));
        }
        await w.close();
      });
      assert(err instanceof BackendError, `the backend's error reaches the writer: ${err}`);
      await assertRejects(() => sink.done, BackendError);
      assertEquals([...Deno.readDirSync(local)], [], "no local file, no temp file");

      await sshd.restart();
      assertEquals(await listRemoteArchives(backend), [], "nothing listed under archives/");
      const again = await openCreateSink({ remote: { backend, name: "a.tar.gz" } });
      const w2 = again.writable.getWriter();
      // Listing counts only archives (gzip or encrypted), so this one starts like gzip.
      await w2.write(new Uint8Array(3 * MiB).fill(7).fill(0x1f, 0, 1).fill(0x8b, 1, 2));
      await w2.close();
      const done = await again.done;
      assertEquals(done.upload?.bytes, 3 * MiB);
      const listed = await listRemoteArchives(backend);
      assertEquals(listed.map((a) => [a.name, a.size, a.sidecar]), [["a.tar.gz", 3 * MiB, true]]);
    } finally {
      await backend.close();
      await sshd.cleanup();
      await Deno.remove(local, { recursive: true });
    }
  },
});
