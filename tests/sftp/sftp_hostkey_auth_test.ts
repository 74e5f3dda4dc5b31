/**
 * Host key and credential checks against a real sshd: a known key (plain and hashed known_hosts)
 * connects; an unknown or changed host key and a wrong client key are refused with a BackendError
 * (exit code 7) that names the presented fingerprint, and nothing is retried or written.
 */
import { openBackend } from "../../lib/backends.ts";
import { BackendError, ConfigError } from "../../lib/errors.ts";
import { openSftpBackend } from "../../lib/backend/sftp/sftp_backend.ts";
import { assert, assertEquals, assertRejects } from "../backend/assert.ts";
import { startSshd } from "../helpers/sshd.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test({
  name: "sftp: host keys and credentials are checked, refusals name the fingerprint",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const sshd = await startSshd();
    try {
      await t.step("known host key (plain known_hosts) through openBackend: works", async () => {
        const b = await openBackend(
          sshd.url("ok"),
          { scheme: "sftp", keyPath: sshd.clientKey, knownHostsPath: sshd.knownHosts },
        );
        await b.put("a/b.txt", enc("hi"));
        assertEquals(await new Response(await b.get("a/b.txt")).text(), "hi");
        await b.close();
      });

      await t.step("hashed known_hosts (|1|salt|hmac, [host]:port) is understood", async () => {
        const text = await Deno.readTextFile(sshd.hashedKnownHosts);
        assert(text.startsWith("|1|"), text);
        const b = await openSftpBackend(sshd.url("ok"), {
          keyPath: sshd.clientKey,
          knownHostsPath: sshd.hashedKnownHosts,
        });
        assertEquals((await b.stat("a/b.txt"))?.size, 2);
        await b.close();
      });

      await t.step("unknown host key: refused with the SHA256 fingerprint, no retries", async () => {
        const empty = `${sshd.dir}/known_hosts_empty`;
        // The host is known only on port 22: a different port is a different host to OpenSSH.
        const line = (await Deno.readTextFile(sshd.knownHosts)).replace(/^\[127\.0\.0\.1\]:\d+/, "127.0.0.1");
        await Deno.writeTextFile(empty, line);
        const b = await openBackend(
          sshd.url("ok"),
          { scheme: "sftp", keyPath: sshd.clientKey, knownHostsPath: empty },
        );
        const started = Date.now();
        const err = await assertRejects(() => b.stat("a/b.txt"), BackendError);
        assert(err.message.includes(sshd.fingerprint), err.message);
        assert(/not in .*known_hosts_empty/.test(err.message), err.message);
        assert(Date.now() - started < 10_000, "refused at once, not retried");
        await b.close();
      });

      await t.step("missing known_hosts file: every host is unknown", async () => {
        const b = await openSftpBackend(sshd.url("ok"), {
          keyPath: sshd.clientKey,
          knownHostsPath: `${sshd.dir}/does-not-exist`,
        });
        const err = await assertRejects(() => b.put("x", enc("x")), BackendError);
        assert(err.message.includes(sshd.fingerprint), err.message);
        await b.close();
      });

      await t.step("wrong client key: authentication refused, names the key tried", async () => {
        const b = await openSftpBackend(sshd.url("ok"), {
          keyPath: sshd.wrongKey,
          knownHostsPath: sshd.knownHosts,
        });
        const err = await assertRejects(() => b.stat("a/b.txt"), BackendError);
        assert(err.message.includes("authentication failed"), err.message);
        assert(err.message.includes(sshd.wrongKey), err.message);
        await b.close();
      });

      await t.step("ssh-agent (SSH_AUTH_SOCK) when no key_path is given", async () => {
        const sock = `${sshd.dir}/agent.sock`;
        const agent = await new Deno.Command("ssh-agent", { args: ["-a", sock, "-s"], stdout: "piped" })
          .output();
        const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(new TextDecoder().decode(agent.stdout))?.[1]);
        const before = Deno.env.get("SSH_AUTH_SOCK");
        try {
          const add = await new Deno.Command("ssh-add", {
            args: [sshd.clientKey],
            env: { SSH_AUTH_SOCK: sock },
            stderr: "null",
          }).output();
          assert(add.success, "ssh-add");
          Deno.env.set("SSH_AUTH_SOCK", sock);
          const b = await openSftpBackend(sshd.url("ok"), { knownHostsPath: sshd.knownHosts });
          assertEquals((await b.stat("a/b.txt"))?.size, 2);
          await b.close();
        } finally {
          if (before === undefined) Deno.env.delete("SSH_AUTH_SOCK");
          else Deno.env.set("SSH_AUTH_SOCK", before);
          if (pid) Deno.kill(pid, "SIGTERM");
        }
      });

      await t.step("key_path that does not exist: a ConfigError at open", async () => {
        const err = await assertRejects(
          () =>
            openSftpBackend(sshd.url("ok"), { keyPath: `${sshd.dir}/nope`, knownHostsPath: sshd.knownHosts }),
          ConfigError,
        );
        assert(err.message.includes("nope"), err.message);
      });

      await t.step("changed host key (server re-keyed): refused, new fingerprint named", async () => {
        const old = sshd.fingerprint;
        const fresh = await sshd.rotateHostKey();
        assert(fresh !== old);
        await sshd.restart();
        const b = await openSftpBackend(sshd.url("ok"), {
          keyPath: sshd.clientKey,
          knownHostsPath: sshd.knownHosts,
        });
        const err = await assertRejects(() => b.put("evil", enc("x")), BackendError);
        assert(err.message.includes("HOST KEY CHANGED"), err.message);
        assert(err.message.includes(fresh), err.message);
        await b.close();
        assertEquals(
          [...Deno.readDirSync(sshd.dataDir + "/ok")].map((e) => e.name),
          ["a"],
          "nothing was written through the refused connection",
        );
      });
    } finally {
      await sshd.cleanup();
    }
  },
});
