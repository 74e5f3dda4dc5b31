/**
 * `sftp://ALIAS/path` resolved through ~/.ssh/config as ssh(1) would: HostName, Port, User and
 * IdentityFile of the matching `Host` block, against the real sshd; what the URL says still wins.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { startSshd } from "../helpers/sshd.ts";
import { sshHostConfig } from "../../lib/backend/sftp/config.ts";

Deno.test("ssh config: Host patterns, first value wins, %h in HostName", () => {
  const text = "Host vigo-*\n  HostName %h.internal\n  Port 2222\nHost *\n  Port 22\n  User fallback\n" +
    "  IdentityFile ~/.ssh/k\n";
  assert.deepEqual(sshHostConfig(text, "vigo-a"), {
    hostName: "vigo-a.internal",
    port: 2222,
    user: "fallback",
    identityFiles: ["~/.ssh/k"],
  });
  assert.deepEqual(sshHostConfig(text, "other").port, 22);
  assert.throws(() => sshHostConfig("Host x\n  Port abc\n", "x"), /Port abc is not a port number/);
});

Deno.test("cli: an sftp:// alias from ~/.ssh/config reaches the real sshd with its user, port and key", async () => {
  const sshd = await startSshd();
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(home, ".ssh"), { mode: 0o700 });
    await Deno.copyFile(sshd.knownHosts, join(home, ".ssh/known_hosts"));
    await Deno.writeTextFile(
      join(home, ".ssh/config"),
      `Host vigo-backup\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n` +
        `  IdentityFile ${sshd.clientKey}\n`,
    );
    const env = { HOME: home, SSH_AUTH_SOCK: "" };
    const url = `sftp://vigo-backup${sshd.dataDir}/alias`;
    const r = await runCli(["backup", "list", "--remote", "--json", "--url", url], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
    // the URL's port wins over the config's: nothing listens there, so the error names it
    const wrong = await runCli(
      ["backup", "list", "--remote", "--url", `sftp://vigo-backup:1${sshd.dataDir}`],
      {
        env,
      },
    );
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /127\.0\.0\.1:1\b/);
  } finally {
    await sshd.stop();
    await Deno.remove(home, { recursive: true });
  }
});
