/** The credential chain's pure parts: order, refresh before expiry, INI and command-line parsing. */
import assert from "node:assert/strict";
import {
  credentialChain,
  type CredentialSource,
  keyPairSource,
} from "../../lib/backend/s3/credentials/chain.ts";
import { parseIni, splitCommandLine } from "../../lib/backend/s3/credentials/aws_profile.ts";
import { ConfigError } from "../../lib/errors.ts";

Deno.test("credential chain: first source with keys wins; temporary keys are fetched again before expiry", async () => {
  let clock = 0, fetched = 0;
  const temporary: CredentialSource = {
    name: "temp",
    load: () => {
      fetched++;
      return Promise.resolve({
        accessKeyId: `id${fetched}`,
        secretAccessKey: "s",
        expiresAt: new Date(clock + 3600_000),
      });
    },
  };
  const chain = credentialChain(
    [keyPairSource("EMPTY", undefined, undefined), temporary],
    "s3://b",
    () => clock,
  );
  assert.equal((await chain()).accessKeyId, "id1");
  clock += 50 * 60_000; // 10 minutes left: still good
  assert.equal((await chain()).accessKeyId, "id1");
  clock += 6 * 60_000; // under 5 minutes left: fetched anew
  assert.equal((await chain()).accessKeyId, "id2");
  // parallel callers share one fetch
  clock += 3600_000;
  await Promise.all([chain(), chain(), chain()]);
  assert.equal(fetched, 3);
  await assert.rejects(credentialChain([keyPairSource("HALF", "id", undefined)], "s3://b")(), ConfigError);
  await assert.rejects(credentialChain([], "s3://b")(), /s3:\/\/b: no credentials/);
});

Deno.test("aws files: INI sections, comments, and credential_process command lines", () => {
  const ini = parseIni(
    "# c\n[default]\naws_access_key_id = A\n; c\n[profile x]\nCredential_Process = a 'b c'\n",
  );
  assert.equal(ini.get("default")?.get("aws_access_key_id"), "A");
  assert.equal(ini.get("profile x")?.get("credential_process"), "a 'b c'");
  assert.deepEqual(splitCommandLine(`/bin/tool --x "a b" 'c "d"' e\\ f`), [
    "/bin/tool",
    "--x",
    "a b",
    'c "d"',
    "e f",
  ]);
  // As a POSIX shell and the AWS CLI (shlex) split it: inside "…" a backslash before other than " or \ stays.
  assert.deepEqual(splitCommandLine(`tool "a\\b" "c\\"d"`), ["tool", "a\\b", 'c"d']);
  assert.throws(() => splitCommandLine(`tool "open`), ConfigError);
});
