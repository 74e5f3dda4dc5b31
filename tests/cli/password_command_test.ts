/** The word splitting of --password-command: shell-like quoting, no expansion. */
import assert from "node:assert/strict";
import { obtainPassword, splitCommandLine } from "../../lib/cli/password.ts";
import { CryptoError } from "../../lib/errors.ts";

Deno.test("splitCommandLine: whitespace, quotes, escapes; nothing expanded", () => {
  assert.deepEqual(splitCommandLine("  pass  show vigo/backup "), ["pass", "show", "vigo/backup"]);
  assert.deepEqual(splitCommandLine(`sh -c 'echo "$X" | tr a b'`), ["sh", "-c", `echo "$X" | tr a b`]);
  assert.deepEqual(splitCommandLine(`a "b c\\" d" e\\ f ''`), ["a", `b c" d`, "e f", ""]);
  assert.deepEqual(splitCommandLine(`x "a\\nb" 'a\\b'`), ["x", "a\\nb", "a\\b"]);
  assert.deepEqual(splitCommandLine("$HOME ~ *"), ["$HOME", "~", "*"]);
  assert.deepEqual(splitCommandLine("   "), []);
  assert.throws(() => splitCommandLine(`echo 'open`), CryptoError);
});

Deno.test("a password command printing more than 1 MiB is refused as such, not as 'could not run'", async () => {
  await assert.rejects(
    obtainPassword({ confirm: false, passwordCommand: "head -c 2000000 /dev/zero" }),
    (e: Error) =>
      e instanceof CryptoError &&
      e.message ===
        "password command `head -c 2000000 /dev/zero` printed more than 1 MiB: no password is that long",
  );
});
