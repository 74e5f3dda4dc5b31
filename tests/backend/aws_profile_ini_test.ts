/**
 * `~/.aws/credentials` and `~/.aws/config` are read as the AWS CLI reads them. botocore
 * (configloader.raw_config_parse) uses Python's RawConfigParser with its defaults: `#` and `;` start a
 * comment only at the start of a line (indented or not); after a value they are part of it, so
 * `aws_access_key_id = AKID # note` is the key `AKID # note` for `aws configure get` as for us. `:` is a
 * delimiter as well as `=`, the first of either ending the key. The reference is botocore itself when it
 * is installed, else the RawConfigParser it wraps.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseIni, profileSource } from "../../lib/backend/s3/credentials/aws_profile.ts";

const REFERENCE = `
import json, sys
try:
    from botocore.configloader import raw_config_parse
    parsed = raw_config_parse(sys.argv[1], parse_subsections=False)
except ImportError:
    import configparser
    cp = configparser.RawConfigParser()
    cp.read(sys.argv[1])
    parsed = {s: {k: cp.get(s, k) for k in cp.options(s)} for s in cp.sections()}
print(json.dumps(parsed))
`;

async function reference(path: string): Promise<Record<string, Record<string, string>>> {
  const out = await new Deno.Command("python3", { args: ["-c", REFERENCE, path], stdout: "piped" }).output();
  assert.equal(out.code, 0, "python3 could not parse the file");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const CREDENTIALS = [
  "# written by hand",
  "[default]",
  "aws_access_key_id = AKIDEXAMPLE # the CI key",
  "aws_secret_access_key = wJalr;XUtn ; rotated in May",
  "  # an indented comment line",
  "; a semicolon comment line",
  "aws_session_token=tok#en",
  "",
  "[ops]",
  "Aws_Access_Key_Id =   AKIDOPS   ",
  "aws_secret_access_key = s3cr3t=with=signs",
  "",
  "[colon]",
  "aws_access_key_id: AKIDCOLON",
  "aws_secret_access_key:s3cr3t=with:both",
  "aws_session_token = to:ken",
  "region :us-east-1",
  "",
].join("\n");

Deno.test("AWS shared files: inline # and ; stay in the value, key: value is key = value, as botocore reads them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-aws-ini-" });
  try {
    const path = join(dir, "credentials");
    await Deno.writeTextFile(path, CREDENTIALS);
    const ours = Object.fromEntries([...parseIni(CREDENTIALS)].map(([s, kv]) => [s, Object.fromEntries(kv)]));
    assert.deepEqual(ours, await reference(path));
    assert.equal(ours.default.aws_access_key_id, "AKIDEXAMPLE # the CI key");

    // What the chain signs with is that value, verbatim (the server then refuses it, as it refuses the CLI).
    const creds = await profileSource({
      AWS_SHARED_CREDENTIALS_FILE: path,
      AWS_CONFIG_FILE: join(dir, "none"),
    })
      .load();
    assert.deepEqual(creds, {
      accessKeyId: "AKIDEXAMPLE # the CI key",
      secretAccessKey: "wJalr;XUtn ; rotated in May",
      sessionToken: "tok#en",
    });
    // `key: value` as well, split at the first `=` or `:` (the AWS CLI signs with these keys too).
    assert.deepEqual(
      await profileSource({
        AWS_SHARED_CREDENTIALS_FILE: path,
        AWS_CONFIG_FILE: join(dir, "none"),
        AWS_PROFILE: "colon",
      })
        .load(),
      { accessKeyId: "AKIDCOLON", secretAccessKey: "s3cr3t=with:both", sessionToken: "to:ken" },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
