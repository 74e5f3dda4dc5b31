/**
 * Under Bun ssh2's WebAssembly poly1305 (chacha20-poly1305's MAC, 16 MiB of WebAssembly memory that ssh2
 * instantiates when it is loaded) is replaced by a stand-in (lib/backend/sftp/poly1305_stand_in.ts), and
 * chacha20-poly1305 is never offered there; Deno keeps both.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { offeredCiphers } from "../../lib/backend/sftp/connection.ts";
import { startSshd } from "../helpers/sshd.ts";

const BUN = fileURLToPath(new URL("../../.tools/node_modules/.bin/bun", import.meta.url));
const PROBE = fileURLToPath(new URL("./fixtures/bun_wasm_probe.ts", import.meta.url));

Deno.test("sftp ciphers: chacha20-poly1305 is offered under Deno, never under Bun", () => {
  const have = new Set(["chacha20", "aes-128-gcm", "aes-256-gcm", "aes-128-ctr", "aes-256-ctr"]);
  assert.equal(offeredCiphers(have, "deno")[0], "chacha20-poly1305@openssh.com");
  assert.deepEqual(offeredCiphers(have, "bun"), [
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
  ]);
  assert.deepEqual(offeredCiphers(new Set(["aes-128-ctr"]), "deno"), ["aes128-ctr"]);
});

Deno.test("sftp under Bun from the sources: no WebAssembly is instantiated, a put and get go through", async () => {
  const sshd = await startSshd();
  try {
    const cfg = { url: sshd.url("probe"), keyPath: sshd.clientKey, knownHostsPath: sshd.knownHosts };
    const out = await new Deno.Command(BUN, {
      args: [PROBE, "some bytes to send", JSON.stringify(cfg)],
      env: { HOME: sshd.dataDir },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    // ssh2's poly1305 made one (16 MiB of memory) at load, before the stand-in
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), { instantiated: 0, equal: true });
  } finally {
    await sshd.cleanup();
  }
});
