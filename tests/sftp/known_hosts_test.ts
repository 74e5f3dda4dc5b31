/**
 * known_hosts checking against files written by OpenSSH's ssh-keygen (tests/vectors/sftp/): plain,
 * `[host]:port`, wildcard and negated patterns, hashed names, @revoked and @cert-authority markers,
 * fingerprints, and the host key algorithms offered for a known host.
 */
import { Buffer } from "node:buffer";
import {
  checkHostKey,
  hostKeyAlgorithms,
  keyTypeOf,
  knownHostsName,
  parseKnownHosts,
  sha256Fingerprint,
} from "../../lib/backend/sftp/known_hosts.ts";
import { assertEquals } from "../backend/assert.ts";

const dir = new URL("../vectors/sftp/", import.meta.url);
const blob = (name: string) =>
  new Uint8Array(Buffer.from(Deno.readTextFileSync(new URL(name, dir)).split(" ")[1], "base64"));
const k1 = blob("k1.pub");
const k2 = blob("k2.pub");
const k3 = blob("k3.pub");
const plain = parseKnownHosts(Deno.readTextFileSync(new URL("known_hosts", dir)));
const hashed = parseKnownHosts(Deno.readTextFileSync(new URL("known_hosts_hashed", dir)));

Deno.test("known_hosts: fingerprints and key types match ssh-keygen", () => {
  assertEquals(sha256Fingerprint(k1), "SHA256:V1x5birMD/Q3qrAtQf3I8QVfkxknGH6Tv3D+XTIhsCg");
  assertEquals(sha256Fingerprint(k2), "SHA256:lHsTpaNRzJkkUKwVeSqp+uEFOiDWibpY9Nj6uoHomyA");
  assertEquals(sha256Fingerprint(k3), "SHA256:Lksqm5XoeJObNjyXnslKXKxT/3oOr9XevcUqdyUjtrI");
  assertEquals(keyTypeOf(k1), "ssh-ed25519");
  assertEquals(keyTypeOf(k3), "ssh-rsa");
});

Deno.test("known_hosts: parsing skips comments, malformed and @cert-authority lines", () => {
  assertEquals(plain.map((e) => [e.line, e.keyType, e.revoked]), [
    [1, "ssh-ed25519", false],
    [2, "ssh-ed25519", false],
    [3, "ssh-rsa", false],
    [4, "ssh-ed25519", true],
  ]);
});

Deno.test("known_hosts: [host]:port names, known/unknown/changed verdicts", () => {
  assertEquals(knownHostsName("backup.example.com", 22), "backup.example.com");
  assertEquals(knownHostsName("backup.example.com", 2222), "[backup.example.com]:2222");
  for (const entries of [plain, hashed]) {
    assertEquals(checkHostKey(entries, "[backup.example.com]:2222", k1), { status: "known" });
    // The same host on another port is another host to OpenSSH.
    assertEquals(checkHostKey(entries, "[backup.example.com]:2223", k1), { status: "unknown" });
    assertEquals(checkHostKey(entries, "backup.example.com", k1), { status: "unknown" });
    assertEquals(checkHostKey(entries, "[backup.example.com]:2222", k2), {
      status: "changed",
      knownTypes: ["ssh-ed25519"],
      line: 1,
    });
    assertEquals(checkHostKey(entries, "plain.example.com", k3), { status: "known" });
  }
});

Deno.test("known_hosts: wildcards, negation, @revoked", () => {
  assertEquals(checkHostKey(plain, "db.internal", k2), { status: "known" });
  assertEquals(checkHostKey(plain, "evil.internal", k2), { status: "unknown" });
  assertEquals(
    checkHostKey(plain, "DB.INTERNAL", k2),
    { status: "known" },
    "host names are case-insensitive",
  );
  assertEquals(checkHostKey(plain, "plain.example.com", k1), { status: "revoked", line: 4 });
  // @cert-authority is not supported: such a host stays unknown rather than trusted.
  assertEquals(checkHostKey(plain, "x.example.com", k2), { status: "unknown" });
});

Deno.test("known_hosts: algorithms offered follow the known key types", () => {
  assertEquals(hostKeyAlgorithms(plain, "[backup.example.com]:2222"), ["ssh-ed25519"]);
  assertEquals(hostKeyAlgorithms(hashed, "plain.example.com"), ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
  assertEquals(hostKeyAlgorithms(plain, "nowhere"), undefined);
});
