/**
 * Key re-exchange in the middle of a transfer, through the CLI (so under Bun too, where ssh2's
 * outbound AES-GCM packets are built by lib/backend/sftp/outbound_gcm.ts, installed again after every
 * key exchange): the real sshd renews the keys after every MiB and speaks only AES-GCM, and an 8 MiB
 * archive goes up with `create --upload` and comes back with `download` byte for byte.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { runCli } from "../helpers/cli.ts";
import { startSshd } from "../helpers/sshd.ts";
import { makeServerRoot } from "../archive/fixture.ts";

Deno.test("sftp: an 8 MiB upload and download across key re-exchanges every MiB (AES-GCM)", async () => {
  const sshd = await startSshd([
    "RekeyLimit 1M",
    "Ciphers aes128-gcm@openssh.com,aes256-gcm@openssh.com",
    "LogLevel DEBUG1",
  ]);
  const yaml =
    `database:\n  driver: sqlite\nbackup:\n  url: ${sshd.url("vigo")}\n  key_path: ${sshd.clientKey}\n` +
    `  known_hosts_path: ${sshd.knownHosts}\n`;
  const fx = await makeServerRoot({ yaml });
  try {
    await Deno.writeFile(join(fx.root, "stacks/vars/big.bin"), randomBytes(8 * 1024 * 1024));
    const created = await runCli(["backup", "create", ...fx.flags, "--upload", "--json"]);
    assert.equal(created.code, 0, created.stderr);
    const made = JSON.parse(created.stdout);
    const name = made.upload.key.replace(/^archives\//, "");
    const dl = join(fx.root, "dl");
    await Deno.mkdir(dl);
    const got = await runCli(["backup", "download", name, "-o", dl, ...fx.flags]);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(await Deno.readFile(join(dl, name)), await Deno.readFile(made.path));
    // sshd's "in" is our outbound direction: the keys of the packets outbound_gcm.ts builds.
    const renewed = sshd.log().split("\n").filter((l) => l.includes("ssh_set_newkeys: rekeying in")).length;
    assert.ok(renewed >= 6, `sshd renewed the client's keys ${renewed} times, expected one per MiB sent`);
  } finally {
    await sshd.cleanup();
    await Deno.remove(fx.root, { recursive: true });
  }
});
