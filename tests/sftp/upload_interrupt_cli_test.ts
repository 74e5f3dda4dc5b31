/**
 * `backup upload` interrupted (SIGINT, SIGTERM) while it sends: it takes back what it had started on the
 * backend before it exits 130 with one line saying so. On s3:// (the SigV4-checking s3rver) an archive
 * above the single-PUT cutoff goes multipart: no multipart upload is left; with `--replace` the stored
 * pair still downloads. On sftp:// (real sshd) and file:// no temporary file is left in archives/.
 * `create --upload` the same: its local temporary files and its upload's temporary object both go; a signal
 * while the sftp:// session still opens stops it before the upload starts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, spawnCli } from "../helpers/cli.ts";
import { interruptWhen } from "../helpers/interrupt.ts";
import { startSshd } from "../helpers/sshd.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { startFaultProxy } from "../backend/fault_proxy.ts";
import { makeServerRoot, type ServerFixture } from "../archive/fixture.ts";
import { DEFAULT_SINGLE_PUT_MAX } from "../../lib/backend/s3_api/s3_api_backend.ts";
import { sparseArchive } from "./sparse_archive.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** The names in `dir` (none when it does not exist). */
function entries(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** The vigocli lines of an interrupted run's stderr, warnings aside: exactly one, which it returns. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n").filter((l) =>
    l.startsWith("vigocli:") && !l.startsWith("vigocli: warning:")
  );
  assert.equal(lines.length, 1, stderr);
  return lines[0];
}

async function withHost(yaml: string, fn: (host: ServerFixture) => Promise<void>): Promise<void> {
  const host = await makeServerRoot({ yaml: `database:\n  driver: sqlite\nbackup:\n${yaml}` });
  try {
    await fn(host);
  } finally {
    await Deno.remove(host.root, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "backup upload on s3://: SIGINT mid multipart upload aborts it; --replace keeps the stored pair",
  ...opts,
  async fn() {
    const s3 = await startS3Server();
    const c = s3.config();
    const yaml = `  url: ${s3.url("vigo")}\n  endpoint: ${c.endpoint}\n  region: ${c.region}\n` +
      `  force_path_style: true\n  access_key_id: ${c.accessKeyId}\n  secret_access_key: ${c.secretAccessKey}\n`;
    try {
      await withHost(yaml, async (host) => {
        const path = await sparseArchive(host.root, "big.tar.gz", DEFAULT_SINGLE_PUT_MAX + 16 * 1024 * 1024);
        const args = ["backup", "upload", path, ...host.flags];
        const stderr = await interruptWhen(args, () => s3.multipartUploads().length > 0, "SIGINT");
        assert.match(
          oneLine(stderr),
          /upload of .*big\.tar\.gz to s3:.* interrupted \(SIGINT\); nothing of it was left/,
        );
        assert.deepEqual(s3.multipartUploads(), [], "the multipart upload was aborted");
        const listed = await runCli(["backup", "list", "--remote", "--json", ...host.flags]);
        assert.equal(listed.code, 0, listed.stderr);
        assert.deepEqual(JSON.parse(listed.stdout), []);

        // The same name stored small, then replaced by the big one and interrupted: the old pair stays.
        const small = join(host.root, "small");
        await Deno.mkdir(small);
        const old = await sparseArchive(small, "big.tar.gz", 4096);
        const first = await runCli(["backup", "upload", old, ...host.flags]);
        assert.equal(first.code, 0, first.stderr);
        const replaced = await interruptWhen(
          [...args, "--replace"],
          () => s3.multipartUploads().length > 0,
          "SIGTERM",
        );
        assert.match(
          oneLine(replaced),
          /interrupted \(SIGTERM\); nothing of it was left there: the stored archive/,
        );
        assert.deepEqual(s3.multipartUploads(), []);
        const dl = join(host.root, "dl.tar.gz");
        const got = await runCli(["backup", "download", "big.tar.gz", "-o", dl, ...host.flags]);
        assert.equal(got.code, 0, got.stderr);
        assert.deepEqual(await Deno.readFile(dl), await Deno.readFile(old));
      });
    } finally {
      await s3.stop();
    }
  },
});

/**
 * Runs `args` and, at the first retry line announcing a backoff of at least `minDelayMs`, calls `before`
 * and sends SIGINT. Returns how long the exit took after the signal (null when no such line came), the
 * exit code and stderr.
 */
async function interruptInBackoff(
  args: string[],
  minDelayMs: number,
  before: () => void,
): Promise<{ afterMs: number | null; code: number; stderr: string }> {
  const child = spawnCli(args);
  const stdout = new Response(child.stdout).arrayBuffer();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  let sentAt: number | undefined;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    stderr += value;
    const delays = [...stderr.matchAll(/retry \d+\/\d+ in (\d+) ms/g)].map((m) => Number(m[1]));
    if (sentAt === undefined && delays.some((d) => d >= minDelayMs)) {
      before();
      child.kill("SIGINT");
      sentAt = Date.now();
    }
  }
  const { code } = await child.status;
  await stdout;
  return { afterMs: sentAt === undefined ? null : Date.now() - sentAt, code, stderr };
}

Deno.test({
  name: "backup upload on s3://: SIGINT while a part waits out a retry backoff exits at once, upload aborted",
  ...opts,
  async fn() {
    const s3 = await startS3Server();
    const proxy = startFaultProxy(s3.endpoint);
    const c = s3.config();
    const yaml = `  url: ${s3.url("vigo")}\n  endpoint: ${proxy.endpoint}\n  region: ${c.region}\n` +
      `  force_path_style: true\n  access_key_id: ${c.accessKeyId}\n  secret_access_key: ${c.secretAccessKey}\n`;
    try {
      await withHost(yaml, async (host) => {
        const path = await sparseArchive(host.root, "big.tar.gz", DEFAULT_SINGLE_PUT_MAX + 16 * 1024 * 1024);
        // The parts fail (503 SlowDown) once the multipart upload exists; the signal comes with a backoff
        // of 1.5 s or more still to wait, and the server answers again from then on. The backoff used to
        // be waited out (and the part retried) before the upload was aborted. The jitter may give no such
        // backoff in one run: then another.
        for (let run = 0; run < 3; run++) {
          const armed = setInterval(() => {
            if (s3.multipartUploads().length > 0 && proxy.pending() === 0) proxy.failNext(1000);
          }, 5);
          const r = await interruptInBackoff(["backup", "upload", path, ...host.flags], 1500, () => {
            clearInterval(armed);
            proxy.failNext(0);
          });
          clearInterval(armed);
          proxy.failNext(0);
          if (r.afterMs === null) continue;
          assert.equal(r.code, 130, r.stderr);
          assert.match(r.stderr, /interrupted \(SIGINT\); nothing of it was left/);
          assert.ok(r.afterMs < 1000, `exit ${r.afterMs} ms after the signal:\n${r.stderr}`);
          assert.deepEqual(s3.multipartUploads(), [], "the multipart upload was aborted");
          return;
        }
        assert.fail("no retry backoff of 1.5 s or more in 3 runs");
      });
    } finally {
      await proxy.stop();
      await s3.stop();
    }
  },
});

Deno.test({
  name: "backup upload on sftp:// (real sshd): SIGTERM mid-send removes the temporary file on the server",
  ...opts,
  async fn() {
    const sshd = await startSshd();
    try {
      const yaml = `  url: ${sshd.url("vigo")}\n  key_path: ${sshd.clientKey}\n` +
        `  known_hosts_path: ${sshd.knownHosts}\n`;
      await withHost(yaml, async (host) => {
        const path = await sparseArchive(host.root, "big.tar.gz", 256 * 1024 * 1024);
        const remote = join(sshd.dataDir, "vigo", "archives");
        const stderr = await interruptWhen(
          ["backup", "upload", path, ...host.flags],
          () => entries(remote).some((n) => n.startsWith(".big.tar.gz.tmp-")),
          "SIGTERM",
        );
        assert.match(oneLine(stderr), /interrupted \(SIGTERM\); nothing of it was left there$/);
        assert.deepEqual(entries(remote), []);
      });
    } finally {
      await sshd.cleanup();
    }
  },
});

Deno.test({
  name: "backup upload on file://: SIGINT mid-copy removes the temporary file",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-upload-int-" });
    try {
      await withHost(`  url: file://${dir}\n`, async (host) => {
        const path = await sparseArchive(host.root, "big.tar.gz", 1024 * 1024 * 1024);
        const remote = join(dir, "archives");
        const stderr = await interruptWhen(
          ["backup", "upload", path, ...host.flags],
          () => entries(remote).some((n) => n.startsWith(".big.tar.gz.tmp-")),
          "SIGINT",
        );
        assert.match(oneLine(stderr), /interrupted \(SIGINT\); nothing of it was left there$/);
        assert.deepEqual(entries(remote), []);
      });
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/** Fills `host`'s tree with `mib` MiB that do not compress: an archive big enough for multipart parts. */
async function incompressible(host: ServerFixture, mib: number): Promise<void> {
  const f = await Deno.open(join(host.root, "stacks", "noise.bin"), { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < mib * 16; i++) await f.write(crypto.getRandomValues(chunk));
  f.close();
}

/** The temporary files `create` left in `dir` (none when it does not exist). */
const temps = (dir: string) => entries(dir).filter((n) => n.includes(".tmp-") || n.startsWith(".vigo"));

Deno.test({
  name:
    "backup create --upload: SIGINT mid-upload aborts the s3:// multipart upload, SIGTERM the sftp:// temp file",
  ...opts,
  async fn() {
    const s3 = await startS3Server();
    const sshd = await startSshd();
    const c = s3.config();
    try {
      const s3Yaml = `  url: ${s3.url("vigo")}\n  endpoint: ${c.endpoint}\n  region: ${c.region}\n` +
        `  force_path_style: true\n  access_key_id: ${c.accessKeyId}\n  secret_access_key: ${c.secretAccessKey}\n`;
      await withHost(s3Yaml, async (host) => {
        await incompressible(host, 40);
        const stderr = await interruptWhen(
          ["backup", "create", "--upload", ...host.flags],
          () => s3.multipartUploads().length > 0,
          "SIGINT",
        );
        assert.match(
          oneLine(stderr),
          /^vigocli: interrupted \(SIGINT\); temporary files removed, and nothing of the upload to s3:.* was left/,
        );
        assert.deepEqual(s3.multipartUploads(), [], "the multipart upload was aborted");
        assert.deepEqual(temps(join(host.root, "snapshots")), []);
      });
      const sftpYaml = `  url: ${sshd.url("vigo")}\n  key_path: ${sshd.clientKey}\n` +
        `  known_hosts_path: ${sshd.knownHosts}\n`;
      await withHost(sftpYaml, async (host) => {
        await incompressible(host, 40);
        const remote = join(sshd.dataDir, "vigo", "archives");
        const stderr = await interruptWhen(
          ["backup", "create", "--upload", ...host.flags],
          () => entries(remote).some((n) => n.includes(".tmp-")),
          "SIGTERM",
        );
        assert.match(
          oneLine(stderr),
          /interrupted \(SIGTERM\); temporary files removed, and nothing of the upload/,
        );
        assert.deepEqual(entries(remote), []);
        assert.deepEqual(temps(join(host.root, "snapshots")), []);
      });
    } finally {
      await sshd.cleanup();
      await s3.stop();
    }
  },
});

Deno.test({
  name:
    "backup create --upload: a SIGINT while the sftp:// session opens stops the create before the upload starts",
  ...opts,
  async fn() {
    // The session's SFTP server starts 2 s after the marker appears: the signal lands while the upload's
    // sink still checks the name on the backend, before the put that would see the signal exists.
    const markerDir = await Deno.makeTempDir({ prefix: "vigo-slowsftp-" });
    const marker = join(markerDir, "session");
    const sshd = await startSshd([
      `ForceCommand touch ${marker}; sleep 2; exec /usr/lib/openssh/sftp-server`,
    ]);
    try {
      const sftpYaml = `  url: ${sshd.url("vigo")}\n  key_path: ${sshd.clientKey}\n` +
        `  known_hosts_path: ${sshd.knownHosts}\n`;
      await withHost(sftpYaml, async (host) => {
        await incompressible(host, 40);
        const remote = join(sshd.dataDir, "vigo", "archives");
        let uploaded = false;
        const watch = setInterval(() => uploaded ||= entries(remote).length > 0, 5);
        const stderr = await interruptWhen(
          ["backup", "create", "--upload", ...host.flags],
          () => entries(markerDir).length > 0,
          "SIGINT",
        ).finally(() => clearInterval(watch));
        assert.match(
          oneLine(stderr),
          /interrupted \(SIGINT\); temporary files removed, and nothing of the upload/,
        );
        assert.ok(!uploaded, "the upload started after the signal");
        assert.deepEqual(entries(remote), []);
        assert.deepEqual(temps(join(host.root, "snapshots")), []);
      });
    } finally {
      await sshd.cleanup();
      await Deno.remove(markerDir, { recursive: true }).catch(() => {});
    }
  },
});
