/**
 * The SFTP server process dies (or stops answering) while its SSH connection stays up: sshd runs an
 * external sftp-server here, so killing it closes only the session's channel. The retry-wrapped
 * backend must open a new session and carry on instead of waiting for good on the dead channel.
 */
import { openBackend } from "../../lib/backends.ts";
import { openSftpBackend } from "../../lib/backend/sftp/sftp_backend.ts";
import type { SftpBackupConfig } from "../../lib/backends.ts";
import { TransientError } from "../../lib/backend/retry.ts";
import { assert, assertEquals, assertRejects } from "../backend/assert.ts";
import { type Sshd, startSshd } from "../helpers/sshd.ts";

/** PIDs of the sftp-server processes below this sshd (and only this one: tests run side by side). */
async function sftpServers(sshd: Sshd): Promise<number[]> {
  const root = Number((await Deno.readTextFile(`${sshd.dir}/sshd.pid`)).trim());
  const out = await new Deno.Command("ps", { args: ["-eo", "pid=,ppid=,args="], stdout: "piped" }).output();
  const procs = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => {
    const [pid, ppid, ...args] = l.trim().split(/\s+/);
    return { pid: Number(pid), ppid: Number(ppid), args: args.join(" ") };
  });
  const below = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) {
      if (below.has(p.ppid) && !below.has(p.pid)) below.add(p.pid), grew = true;
    }
  }
  return procs.filter((p) => below.has(p.pid) && p.args.includes("sftp-server")).map((p) => p.pid);
}

/** `op`'s result, or a failure naming `what` after `ms` (the defect is an answer that never comes). */
function within<T>(ms: number, what: string, op: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${ms} ms`)), ms);
  });
  return Promise.race([op, late]).finally(() => clearTimeout(timer));
}

async function withExternalSftpServer(fn: (sshd: Sshd, cfg: SftpBackupConfig) => Promise<void>) {
  const sshd = await startSshd(["Subsystem sftp /usr/lib/openssh/sftp-server"]);
  try {
    await fn(sshd, { scheme: "sftp", keyPath: sshd.clientKey, knownHostsPath: sshd.knownHosts });
  } finally {
    await sshd.cleanup();
  }
}

Deno.test({
  name: "sftp: sftp-server killed while the SSH connection stays up: the next request reconnects",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withExternalSftpServer(async (sshd, cfg) => {
      const b = await openBackend(sshd.url("r"), cfg);
      try {
        await b.put("obj.bin", new TextEncoder().encode("stored"));
        const [pid] = await sftpServers(sshd);
        Deno.kill(pid, "SIGKILL");
        while ((await sftpServers(sshd)).includes(pid)) await new Promise((r) => setTimeout(r, 20));
        assertEquals((await within(20_000, "stat", b.stat("obj.bin")))?.size, 6);
        assertEquals(
          await within(20_000, "get", b.get("obj.bin").then((s) => new Response(s).text())),
          "stored",
        );
      } finally {
        await b.close();
      }
    });
  },
});

Deno.test({
  name: "sftp: sftp-server killed mid-download: the read fails as transient, the next get reconnects",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withExternalSftpServer(async (sshd, cfg) => {
      const b = await openBackend(sshd.url("r"), cfg);
      try {
        const big = new Uint8Array(64 * 1024 * 1024).map((_, i) => i & 0xff);
        await b.put("big.bin", big);
        const [pid] = await sftpServers(sshd);
        const read = within(20_000, "get", b.get("big.bin").then((s) => new Response(s).arrayBuffer()));
        setTimeout(() => Deno.kill(pid, "SIGKILL"), 50);
        const err = await assertRejects(() => read, TransientError);
        assert(/connection lost/.test(err.message), err.message);
        const again = await within(
          20_000,
          "get",
          b.get("big.bin").then((s) => new Response(s).arrayBuffer()),
        );
        assertEquals(again.byteLength, big.length);
      } finally {
        await b.close();
      }
    });
  },
});

Deno.test({
  name: "sftp: sftp-server stopped (SIGSTOP) mid-download: the read fails once the request timeout passes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withExternalSftpServer(async (sshd, cfg) => {
      const b = await openSftpBackend(sshd.url("r"), { ...cfg, requestTimeoutMs: 1500 });
      let pid = 0;
      try {
        const big = new Uint8Array(64 * 1024 * 1024).map((_, i) => i & 0xff);
        await b.put("big.bin", big);
        [pid] = await sftpServers(sshd);
        const started = Date.now();
        const read = within(20_000, "get", b.get("big.bin").then((s) => new Response(s).arrayBuffer()));
        setTimeout(() => Deno.kill(pid, "SIGSTOP"), 50);
        const err = await assertRejects(() => read, TransientError);
        assert(/no answer within 1500 ms/.test(err.message), err.message);
        assert(Date.now() - started < 10_000, `failed after ${Date.now() - started} ms`);
        const again = await within(
          20_000,
          "get",
          b.get("big.bin").then((s) => new Response(s).arrayBuffer()),
        );
        assertEquals(again.byteLength, big.length);
      } finally {
        if (pid) Deno.kill(pid, "SIGKILL");
        await b.close();
      }
    });
  },
});
