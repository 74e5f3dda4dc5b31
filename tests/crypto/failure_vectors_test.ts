/**
 * The must-fail vectors of docs/encryption-format.md (tests/vectors/encryption/fail/*.json), read as
 * data: lib/crypto must reject each input with the stated error class, exit code and message, and
 * release no plaintext that the stated failure makes unauthentic.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { decryptingStream } from "../../lib/crypto/envelope.ts";
import { toVigoError } from "../../lib/errors.ts";
import { pump, split, unhex } from "./helpers.ts";

interface FailureVector {
  expect: string;
  error: string;
  exit_code: number;
  message: string;
  comment: string;
  password: string;
  input: string;
}

const KINDS = ["header failure", "payload failure", "truncated", "not encrypted"];
const dir = new URL("../vectors/encryption/fail/", import.meta.url);
const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json")).sort();

Deno.test("failure vectors are present and each states its kind, error and exit code", () => {
  assert(files.length >= 15, `only ${files.length} failure vectors`);
  for (const name of files) {
    const v: FailureVector = JSON.parse(Deno.readTextFileSync(new URL(name, dir)));
    assert(KINDS.includes(v.expect), `${name}: unknown failure kind ${JSON.stringify(v.expect)}`);
    assert(v.error && Number.isInteger(v.exit_code) && v.message && v.comment, `${name}: incomplete`);
  }
  const kinds = new Set(files.map((n) => JSON.parse(Deno.readTextFileSync(new URL(n, dir))).expect));
  assertEquals([...kinds].sort(), [...KINDS].sort());
});

for (const name of files) {
  const v: FailureVector = JSON.parse(Deno.readTextFileSync(new URL(name, dir)));
  Deno.test(`failure vector ${name}: ${v.expect}`, async () => {
    for (const piece of [1, 333, 1 << 16]) {
      let err: unknown;
      try {
        await pump(decryptingStream(v.password), split(unhex(v.input), piece));
      } catch (e) {
        err = e;
      }
      assert(err !== undefined, `${name}: decrypted without an error (pieces of ${piece})`);
      const e = toVigoError(err);
      assertEquals([e.constructor.name, e.exitCode], [v.error, v.exit_code], `${name}: ${e.message}`);
      assert(
        e.message.includes(v.message),
        `${name}: ${JSON.stringify(e.message)} lacks ${JSON.stringify(v.message)}`,
      );
    }
  });
}
