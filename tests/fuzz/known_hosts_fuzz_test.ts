/**
 * Hostile known_hosts files (lib/backend/sftp/known_hosts.ts): the file is the user's, but it is often
 * copied from elsewhere, and a damaged one must not crash or hang a backup. Properties: parsing and
 * checking never throw, a wildcard pattern agrees with a reference matcher, and time is linear in
 * the file (no backtracking blowup on patterns like `*a*a*a…`).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { checkHostKey, hostKeyAlgorithms, parseKnownHosts } from "../../lib/backend/sftp/known_hosts.ts";
import { assertLinear, assertTyped, checkVectors, fuzzParams } from "../helpers/fuzz.ts";

const fieldArb = fc.oneof(
  fc.constantFrom("*", "?", "!", "|1|", "|1|AAAA|BBBB", "[h]:22", "@revoked", "@cert-authority", "#", ","),
  fc.string({ maxLength: 12 }),
);
const lineArb = fc.tuple(fc.array(fieldArb, { maxLength: 5 }), fc.constantFrom(" ", "\t", ""))
  .map(([f, sep]) => f.join(sep));
const fileArb = fc.array(lineArb, { maxLength: 12 }).map((l) => l.join("\n"));
const blobArb = fc.uint8Array({ maxLength: 64 });

function check(text: string, name: string, blob: Uint8Array): void {
  const entries = parseKnownHosts(text);
  checkHostKey(entries, name, blob);
  hostKeyAlgorithms(entries, name);
}

Deno.test("known_hosts: hostile files and keys never throw", async () => {
  await fc.assert(
    fc.asyncProperty(fileArb, fc.string({ maxLength: 20 }), blobArb, async (text, name, blob) => {
      assert.equal(await assertTyped(() => check(text, name, blob)), "ok");
    }),
    fuzzParams(400),
  );
});

/** Reference wildcard matcher: plain recursion over short strings. */
function refMatch(p: string, s: string): boolean {
  if (p === "") return s === "";
  if (p[0] === "*") return refMatch(p.slice(1), s) || (s !== "" && refMatch(p, s.slice(1)));
  if (s === "") return false;
  return (p[0] === "?" || p[0].toLowerCase() === s[0].toLowerCase()) && refMatch(p.slice(1), s.slice(1));
}

Deno.test("known_hosts: wildcard patterns match as the reference matcher does", () => {
  const alpha = fc.string({
    unit: fc.constantFrom("a", "B", "b", ".", "*", "?", "[", "\\", "$"),
    maxLength: 8,
  });
  const hostAlpha = fc.string({ unit: fc.constantFrom("a", "b", "B", ".", "[", "\\", "$"), maxLength: 8 });
  const key = "AAAAC3NzaC1lZDI1NTE5AAAAIK";
  fc.assert(
    fc.property(alpha, hostAlpha, (pattern, host) => {
      if (pattern === "" || pattern.startsWith("!") || pattern.startsWith("|")) return;
      const entries = parseKnownHosts(`${pattern} ssh-ed25519 ${key}`);
      const known = hostKeyAlgorithms(entries, host) !== undefined;
      assert.equal(known, refMatch(pattern, host), `pattern ${pattern} host ${host}`);
    }),
    fuzzParams(400),
  );
});

Deno.test("known_hosts: time is linear in the file (wildcard backtracking, many lines)", async () => {
  const name = "a".repeat(64) + "b";
  const shapes: [string, (n: number) => string][] = [
    ["many wildcard lines", (n) => "*a*a*a*a*a*a*a*a*a*a*a*c ssh-ed25519 AAAA\n".repeat(n)],
    ["one long wildcard pattern", (n) => `${"*a".repeat(n)}c ssh-ed25519 AAAA\n`],
  ];
  for (const [what, make] of shapes) {
    await assertLinear(
      `known_hosts ${what}`,
      make,
      (x) => check(x as string, name, new Uint8Array(8)),
      20,
    );
  }
});

Deno.test("known_hosts: regression vectors", async () => {
  await checkVectors(
    "known_hosts",
    (v) => check(v.input_text ?? "", "a".repeat(40) + "b", new Uint8Array(8)),
  );
});
