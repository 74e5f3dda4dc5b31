/**
 * The S3 credential chain, each source alone against the SigV4-checking S3 server (a wrong secret is
 * refused there, so a success proves the right keys were used): server.yaml `secret:` keys,
 * LITESTREAM_*, AWS_*, an AWS_PROFILE in ~/.aws/credentials, `credential_process` in ~/.aws/config, ECS
 * container credentials and EC2 IMDSv2 served by fakes on 127.0.0.1 that check the protocol (the
 * authorization token; the IMDSv2 session token). `-v` names the source used.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { makeServerRoot } from "../archive/fixture.ts";

/** A fake ECS + IMDSv2 endpoint handing out the server's keys, and counting what it was asked. */
function startMetadata(keys: { accessKeyId: string; secretAccessKey: string }) {
  const seen: string[] = [];
  const creds = JSON.stringify({
    AccessKeyId: keys.accessKeyId,
    SecretAccessKey: keys.secretAccessKey,
    Token: "session-token",
    Expiration: new Date(Date.now() + 3600_000).toISOString(),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    seen.push(`${req.method} ${path}`);
    if (path === "/ecs/creds") {
      return req.headers.get("authorization") === "ecs-token"
        ? new Response(creds)
        : new Response("no", { status: 401 });
    }
    if (path === "/latest/api/token" && req.method === "PUT") {
      return req.headers.get("x-aws-ec2-metadata-token-ttl-seconds")
        ? new Response("imds-session")
        : new Response("", { status: 400 });
    }
    if (req.headers.get("x-aws-ec2-metadata-token") !== "imds-session") {
      return new Response("", { status: 401 });
    }
    if (path === "/latest/meta-data/iam/security-credentials/") return new Response("vigo-role\n");
    if (path === "/latest/meta-data/iam/security-credentials/vigo-role") return new Response(creds);
    return new Response("", { status: 404 });
  });
  return { seen, url: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

Deno.test("s3 credentials: every source of the chain alone signs requests the server accepts", async () => {
  const s3 = await startS3Server();
  const meta = startMetadata(s3);
  const home = await Deno.makeTempDir();
  const fx = await makeServerRoot({ rows: 5 });
  const url = `${s3.url("chain")}?endpoint=${
    encodeURIComponent(s3.endpoint)
  }&force_path_style=true&region=us-east-1`;
  const list = (env: Record<string, string>, extra: string[] = []) =>
    runCli(["-v", "backup", "list", "--remote", "--json", ...extra], {
      env: { HOME: home, ...env },
    });
  const expectSource = async (env: Record<string, string>, source: RegExp, extra = ["--url", url]) => {
    const r = await list(env, extra);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
    assert.match(r.stderr, source);
    assert.doesNotMatch(r.stderr, new RegExp(s3.secretAccessKey), "a secret reached stderr");
  };
  try {
    // server.yaml with secret: references (the fixture's placeholder key replaced by a real one)
    await Deno.remove(join(fx.root, "secrets/.master.key"));
    for (const [name, value] of [["k/id", s3.accessKeyId], ["k/secret", s3.secretAccessKey]]) {
      // The fixture's secret is a placeholder sealed with no key at all.
      const set = await runCli(["secret", "set", name, "--new-master-key", "--server-root", fx.root], {
        stdin: value,
      });
      assert.equal(set.code, 0, set.stderr);
    }
    await Deno.writeTextFile(
      fx.serverYaml,
      `backup:\n  url: ${s3.url("chain")}\n  endpoint: ${s3.endpoint}\n  force_path_style: true\n` +
        `  access_key_id: "secret:k/id"\n  secret_access_key: "secret:k/secret"\n`,
    );
    await expectSource({}, /credentials from server\.yaml backup\.access_key_id/, fx.flags);

    const pair = (prefix: string) => ({
      [`${prefix}_ACCESS_KEY_ID`]: s3.accessKeyId,
      [`${prefix}_SECRET_ACCESS_KEY`]: s3.secretAccessKey,
    });
    await expectSource(pair("LITESTREAM"), /credentials from LITESTREAM_ACCESS_KEY_ID/);
    await expectSource(pair("AWS"), /credentials from AWS_ACCESS_KEY_ID/);
    // the chain's order: LITESTREAM_* before AWS_* (a wrong AWS secret is never tried)
    await expectSource(
      { ...pair("LITESTREAM"), AWS_ACCESS_KEY_ID: "wrong", AWS_SECRET_ACCESS_KEY: "wrong" },
      /credentials from LITESTREAM_ACCESS_KEY_ID/,
    );

    await Deno.mkdir(join(home, ".aws"));
    await Deno.writeTextFile(
      join(home, ".aws/credentials"),
      `[other]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`,
    );
    await expectSource({ AWS_PROFILE: "other" }, /credentials from AWS profile other/);
    const helper = join(home, "creds.sh");
    await Deno.writeTextFile(
      helper,
      `#!/bin/sh\nprintf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s"}' "$1" "$2"\n`,
    );
    await Deno.chmod(helper, 0o755);
    await Deno.writeTextFile(
      join(home, ".aws/config"),
      `[default]\ncredential_process = "${helper}" ${s3.accessKeyId} '${s3.secretAccessKey}'\n`,
    );
    await expectSource({}, /credentials from AWS profile default/);
    await Deno.remove(join(home, ".aws"), { recursive: true });

    await expectSource(
      {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${meta.url}/ecs/creds`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: "ecs-token",
      },
      /credentials from container credentials .*\(until /,
    );
    await expectSource(
      { AWS_EC2_METADATA_DISABLED: "false", AWS_EC2_METADATA_SERVICE_ENDPOINT: meta.url },
      /credentials from EC2 instance role \(IMDSv2 at http:\/\/127\.0\.0\.1:\d+\)/,
    );
    assert.ok(meta.seen.includes("PUT /latest/api/token"), meta.seen.join(", "));

    // the server checks signatures: a wrong secret is refused (7); no source at all names them all (3)
    const wrong = await list({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: "wrong" }, [
      "--url",
      url,
    ]);
    assert.equal(wrong.code, 7, wrong.stderr);
    const none = await list({}, ["--url", url]);
    assert.equal(none.code, 3, none.stderr);
    assert.match(
      none.stderr,
      /no credentials: .*tried .*LITESTREAM_ACCESS_KEY_ID.*AWS_ACCESS_KEY_ID.*AWS profile/,
    );
  } finally {
    await meta.stop();
    await s3.stop();
    await Deno.remove(home, { recursive: true });
    await Deno.remove(fx.root, { recursive: true });
  }
});

Deno.test("s3: an unreachable endpoint's error names host:port and the cause", async () => {
  const r = await runCli(
    [
      "backup",
      "list",
      "--remote",
      "--url",
      "s3://bkt/x?endpoint=http://127.0.0.1:39999&force_path_style=true",
    ],
    { env: { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" } },
  );
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stderr, /cannot connect to 127\.0\.0\.1:39999 \(connection refused\)/);
});
