/**
 * A server that accepts none of the ciphers vigocli offers fails the command at once with one line naming
 * what was offered (exit 7), not six retries of ssh2's bare 'Handshake failed: no matching C->S cipher':
 * the mismatch is the same on every try. A server offering only chacha20-poly1305 is served under Deno,
 * which offers it first; under Bun (the executables, and the sources run by Bun), which never offers it
 * (its poly1305 is left out there: poly1305_stand_in.ts), the line says so.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { REPO_ROOT, runCli } from "../helpers/cli.ts";
import { startSshd } from "../helpers/sshd.ts";
import { makeServerRoot } from "../archive/fixture.ts";

const BUN = fileURLToPath(new URL("../../.tools/node_modules/.bin/bun", import.meta.url));
const underBun = Deno.env.get("VIGOCLI_BIN") !== undefined;

/** `backup list --remote` against an sshd that accepts only `ciphers`, by the CLI under test or `cmd`. */
async function listWith(ciphers: string, cmd?: string[]) {
  const sshd = await startSshd([`Ciphers ${ciphers}`]);
  const fx = await makeServerRoot({
    rows: 1,
    yaml:
      `database:\n  driver: sqlite\nbackup:\n  url: ${sshd.url("vigo")}\n  key_path: ${sshd.clientKey}\n` +
      `  known_hosts_path: ${sshd.knownHosts}\n`,
  });
  const args = ["backup", "list", "--remote", ...fx.flags];
  try {
    if (!cmd) return await runCli(args);
    const out = await new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), ...args],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    await sshd.cleanup();
    await Deno.remove(fx.root, { recursive: true });
  }
}

function assertMismatch(r: { code: number; stderr: string }, chachaMissing: boolean): void {
  assert.equal(r.code, 7, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line, no retries:\n${r.stderr}`);
  assert.match(
    lines[0],
    /^vigocli: .*sftp:\/\/\S+: SSH handshake failed: no matching C->S cipher: the server accepts none of \S.*aes128-ctr/,
  );
  assert.equal(/chacha20-poly1305 is not available under Bun/.test(lines[0]), chachaMissing, lines[0]);
}

Deno.test({
  name: "sftp: a server accepting none of the offered ciphers fails once, naming them (exit 7)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => assertMismatch(await listWith("aes192-ctr"), underBun),
});

Deno.test({
  name:
    "sftp: a server offering only chacha20-poly1305 is served under Deno; under Bun the line says why not",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const r = await listWith("chacha20-poly1305@openssh.com");
    if (underBun) assertMismatch(r, true);
    else assert.equal(r.code, 0, r.stderr);
    assertMismatch(await listWith("chacha20-poly1305@openssh.com", [BUN, `${REPO_ROOT}main.ts`]), true);
  },
});
