/**
 * An sftp:// put whose body fails (not interrupted) and whose temporary file the server then will not
 * remove: the body's failure stays the error, and its line names the temporary file left, as file:// does
 * (tests/backend/file_put_left_temp_test.ts), and who removes it: the first listing of its directory that
 * removes leftovers, once it is a week old. Before, the failure came alone and the file was not named. The
 * server's unlinks fail in the kernel (strace attached to sshd, whose session children it follows;
 * tests/helpers/unremovable_temp.ts); skipped, saying so, without strace.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { openSftpBackend } from "../../lib/backend/sftp/sftp_backend.ts";
import { IoError } from "../../lib/errors.ts";
import { failUnlinks, hasStrace } from "../helpers/unremovable_temp.ts";
import { startSshd } from "../helpers/sshd.ts";

if (!hasStrace) console.warn("sftp_put_left_temp_test: skipped, strace is not installed");

Deno.test({
  name: "sftp backend: a failed put whose temporary file cannot be removed keeps the failure and names it",
  ignore: !hasStrace,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sshd = await startSshd();
    const backend = await openSftpBackend(sshd.url("remote"), {
      keyPath: sshd.clientKey,
      knownHostsPath: sshd.knownHosts,
    });
    const pid = Number(Deno.readTextFileSync(join(sshd.dir, "sshd.pid")).trim());
    const strace = await failUnlinks(pid);
    try {
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent) throw new IoError("/src/f: input/output error", { path: "/src/f" });
          sent = true;
          c.enqueue(new Uint8Array(1000));
        },
      });
      const err = await backend.put("a/b.bin", body).then(() => undefined, (e) => e);
      const dir = join(sshd.dataDir, "remote", "a");
      const temps = readdirSync(dir).filter((n) => n.includes(".tmp-"));
      assert.equal(temps.length, 1, String(readdirSync(dir)));
      assert.ok(err instanceof IoError, String(err));
      assert.equal(err.path, "/src/f");
      assert.equal(
        err.message,
        `/src/f: input/output error; its temporary file ${sshd.url("remote")}/a/${temps[0]} could not be ` +
          "removed (permission denied) and is left for the first listing of its directory, once it is a week " +
          "old, by a command that removes leftovers (list --remote and the others that only look remove none)",
      );
    } finally {
      Deno.kill(strace.pid, "SIGTERM");
      await strace.stderr.cancel().catch(() => {});
      await strace.status;
      await backend.close();
      await sshd.cleanup();
    }
  },
});
