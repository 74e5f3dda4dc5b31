/**
 * Application Default Credentials for gcs://, against a token endpoint that verifies JWT signatures
 * and a GCS XML shim that checks bearer tokens (tests/helpers/gcs_token_server.ts).
 */
import { join } from "node:path";
import { BackendError, BadInputError, ConfigError } from "../../lib/errors.ts";
import { openGcsBackend } from "../../lib/backend/gcs/gcs_backend.ts";
import { findAdcProvider } from "../../lib/backend/gcs/adc.ts";
import { retryBackend, type RetryPolicy } from "../../lib/backend/retry.ts";
import { startGcsShim, startGcsTokenServer, type TokenServer } from "../helpers/gcs_token_server.ts";
import { type S3Server, startS3Server } from "../helpers/s3_server.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import {
  generateServiceAccountKey,
  SA_EMAIL,
  type ServiceAccountKey,
  writeServiceAccountFile,
} from "./gcs_fixtures.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const enc = (s: string) => new TextEncoder().encode(s);

interface World {
  s3: S3Server;
  key: ServiceAccountKey;
  tokens: TokenServer;
  dir: string;
  shimUnauthorized(): number;
  /** Opens `gcs://<bucket>/<prefix>` through the shim, with `env` as the only environment. */
  open(prefix: string, env: Record<string, string>, retry?: RetryPolicy): ReturnType<typeof openGcsBackend>;
  stop(): Promise<void>;
}

const USER = {
  clientId: "client-123.apps.googleusercontent.com",
  clientSecret: "user-secret",
  refreshToken: "1//refresh",
};

/** Writes gcloud's `authorized_user` credentials file for {@link USER} with `refreshToken`. */
function writeUserCredentials(path: string, refreshToken: string, tokenUri: string): Promise<void> {
  return Deno.writeTextFile(
    path,
    JSON.stringify({
      type: "authorized_user",
      client_id: USER.clientId,
      client_secret: USER.clientSecret,
      refresh_token: refreshToken,
      token_uri: tokenUri,
    }),
  );
}

async function world(expiresIn?: number): Promise<World> {
  const s3 = await startS3Server();
  const key = await generateServiceAccountKey();
  const tokens = startGcsTokenServer({
    publicKey: key.publicKey,
    clientEmail: SA_EMAIL,
    user: USER,
    expiresIn,
  });
  const shim = startGcsShim(tokens, s3);
  const dir = await Deno.makeTempDir({ prefix: "vigo-adc-" });
  return {
    s3,
    key,
    tokens,
    dir,
    shimUnauthorized: () => shim.unauthorized(),
    open: (prefix, env, retry) =>
      openGcsBackend(`gcs://${s3.bucket}/${prefix}`, { endpoint: shim.endpoint }, {
        env,
        homeDir: dir,
        retry,
      }),
    async stop() {
      await shim.stop();
      await tokens.stop();
      await s3.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: "gcs adc: a service account signed with the wrong key is refused by the token endpoint",
  ...opts,
  async fn() {
    const w = await world();
    try {
      const other = await generateServiceAccountKey();
      const path = await writeServiceAccountFile(w.dir, other.pem, w.tokens.tokenUri);
      const err = await assertRejects(
        () => w.open("x", { GOOGLE_APPLICATION_CREDENTIALS: path }),
        BackendError,
      );
      assert(err.message.includes("Invalid JWT Signature"), err.message);
      assert(err.message.includes(w.tokens.tokenUri) && err.message.includes(SA_EMAIL), err.message);
      assertEquals(w.tokens.refusals, ["Invalid JWT Signature."]);
      assertEquals(w.tokens.issued.jwt, 0);
    } finally {
      await w.stop();
    }
  },
});

Deno.test({
  name: "gcs adc: service account token is cached, refreshed before expiry, and renewed after a 401",
  ...opts,
  async fn() {
    // 302 s tokens with the 5 min refresh margin: each token is "fresh" for 2 s only.
    const w = await world(302);
    try {
      const path = await writeServiceAccountFile(w.dir, w.key.pem, w.tokens.tokenUri);
      const b = await w.open("sa", { GOOGLE_APPLICATION_CREDENTIALS: path });
      await b.put("a.txt", enc("one"));
      await Promise.all([b.stat("a.txt"), b.stat("a.txt"), b.stat("a.txt")]);
      assertEquals(w.tokens.issued.jwt, 1, "one token for every request within its lifetime");
      await new Promise((r) => setTimeout(r, 2500));
      await Promise.all([b.stat("a.txt"), b.stat("a.txt")]);
      assertEquals(w.tokens.issued.jwt, 2, "refreshed once, shared by concurrent callers");
      w.tokens.revokeAll();
      assertEquals(await new Response(await b.get("a.txt")).text(), "one");
      assertEquals(w.shimUnauthorized(), 1, "the revoked token was refused once");
      assertEquals(w.tokens.issued.jwt, 3, "and replaced by a fresh one");
    } finally {
      await w.stop();
    }
  },
});

Deno.test({
  name: "gcs adc: gcloud's well-known authorized_user file, then the GCE metadata server",
  ...opts,
  async fn() {
    const w = await world();
    try {
      const gcloud = join(w.dir, ".config", "gcloud");
      await Deno.mkdir(gcloud, { recursive: true });
      const wellKnown = join(gcloud, "application_default_credentials.json");
      await writeUserCredentials(wellKnown, USER.refreshToken, w.tokens.tokenUri);
      const user = await w.open("user", {});
      await user.put("u.txt", enc("from user creds"));
      assertEquals(w.tokens.issued.refresh, 1);
      await Deno.remove(wellKnown);
      const meta = await w.open("user", { GCE_METADATA_HOST: w.tokens.metadataHost });
      assertEquals(await new Response(await meta.get("u.txt")).text(), "from user creds");
      assertEquals(w.tokens.issued.metadata, 1, "the probe's token is reused for the first request");
      await writeUserCredentials(wellKnown, "revoked", w.tokens.tokenUri);
      await assertRejects(
        () => w.open("user", {}),
        BackendError,
      );
    } finally {
      await w.stop();
    }
  },
});

Deno.test({
  name: "gcs adc: no credentials anywhere gives one error naming everything tried",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-adc-none-" });
    // A port nobody listens on: the metadata probe fails fast.
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    try {
      const err = await assertRejects(
        () =>
          openGcsBackend("gcs://some-bucket/x", {}, {
            env: { GCE_METADATA_HOST: `127.0.0.1:${port}` },
            homeDir: dir,
            metadataTimeoutMs: 500,
          }),
        ConfigError,
      );
      assert(err.message.includes("GOOGLE_APPLICATION_CREDENTIALS (not set)"), err.message);
      assert(
        err.message.includes(join(dir, ".config/gcloud/application_default_credentials.json")),
        err.message,
      );
      assert(err.message.includes(`GCE metadata server 127.0.0.1:${port}`), err.message);
      const missing = join(dir, "nope.json");
      const err2 = await assertRejects(
        () =>
          openGcsBackend("gcs://some-bucket/x", {}, {
            env: { GOOGLE_APPLICATION_CREDENTIALS: missing },
            homeDir: dir,
          }),
        ConfigError,
      );
      assert(err2.message.includes(missing), err2.message);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "gcs adc: without a home directory ~/.config/gcloud is skipped and said so, not an error of its own",
  ...opts,
  async fn() {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const err = await assertRejects(
      () =>
        findAdcProvider({
          env: { GCE_METADATA_HOST: `127.0.0.1:${port}` },
          homeDir: undefined,
          metadataTimeoutMs: 500,
        }),
      ConfigError,
    );
    assert(err.message.includes("application_default_credentials.json (no home directory)"), err.message);
    assert(err.message.includes(`GCE metadata server 127.0.0.1:${port}`), err.message);
  },
});

/** Forwards to `target` (`http://host:port`), answering the first two requests to each path with a 503. */
function flakyProxy(target: string): { host: string; stop(): Promise<void> } {
  const failed = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const n = failed.get(url.pathname) ?? 0;
    if (n < 2) {
      failed.set(url.pathname, n + 1);
      await req.body?.cancel();
      return Response.json({ error: "backendError" }, { status: 503 });
    }
    const body = req.method === "POST" ? await req.text() : undefined;
    return await fetch(`${target}${url.pathname}`, { method: req.method, headers: req.headers, body });
  });
  return { host: `127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

Deno.test({
  name: "gcs adc: a 503 from the token endpoint or the metadata server at open is retried, a refusal is not",
  ...opts,
  async fn() {
    const w = await world();
    const proxy = flakyProxy(`http://${w.tokens.metadataHost}`);
    try {
      const log: string[] = [];
      const retry = { baseDelayMs: 1, log: (l: string) => log.push(l) };
      const path = join(w.dir, "user.json");
      await writeUserCredentials(path, USER.refreshToken, `http://${proxy.host}/token`);
      const b = await w.open("flaky", { GOOGLE_APPLICATION_CREDENTIALS: path }, retry);
      await b.put("a.txt", enc("one"));
      assertEquals(log.length, 2, log.join("\n"));
      assert(log[1].includes("retry 2/6") && log[1].includes("backendError"), log[1]);
      assertEquals(w.tokens.issued.refresh, 1);
      // The metadata server answering 503 is there (not "no credentials"): its token is retried too
      // (the probe was the first attempt).
      const meta = await w.open("flaky", { GCE_METADATA_HOST: proxy.host }, retry);
      assertEquals(await new Response(await meta.get("a.txt")).text(), "one");
      assertEquals(log.length, 3, log.join("\n"));
      assertEquals(w.tokens.issued.metadata, 1);
      // A refused credential is final: no retry line.
      await writeUserCredentials(path, "revoked", `http://${proxy.host}/token`);
      await assertRejects(
        () => w.open("flaky", { GOOGLE_APPLICATION_CREDENTIALS: path }, retry),
        BackendError,
      );
      assertEquals(log.length, 3, log.join("\n"));
    } finally {
      await proxy.stop();
      await w.stop();
    }
  },
});

Deno.test({
  name: "gcs adc: a credentials file that is no object, or has no type, is one config error naming the file",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vigo-adc-bad-" });
    try {
      const cases: [string, string][] = [
        ["null", "got null"],
        ["[]", "got an array"],
        ['"x"', "got a string"],
        ['{"client_email":"a@b"}', 'no "type"'],
        ['{"type":"external_account"}', 'unsupported credentials type "external_account"'],
      ];
      for (const [text, says] of cases) {
        const path = join(dir, "creds.json");
        await Deno.writeTextFile(path, text);
        const err = await assertRejects(
          () => openGcsBackend("gcs://some-bucket/x", {}, { env: { GOOGLE_APPLICATION_CREDENTIALS: path } }),
          ConfigError,
        );
        assert(err.message.startsWith(`${path}: `) && err.message.includes(says), err.message);
        assert(!err.message.includes("undefined"), err.message);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "gcs adc: a source that fails while it is streamed (no hash pass) is its own error, not retried",
  ...opts,
  async fn() {
    const w = await world();
    try {
      const path = await writeServiceAccountFile(w.dir, w.key.pem, w.tokens.tokenUri);
      const log: string[] = [];
      const b = retryBackend(await w.open("changed", { GOOGLE_APPLICATION_CREDENTIALS: path }), {
        baseDelayMs: 1,
        log: (l) => log.push(l),
      });
      const changed = new BadInputError("/srv/a.tar.gz: checksum mismatch: the file changed while uploading");
      let opens = 0;
      const size = 1024 * 1024;
      const open = () => {
        opens++;
        let sent = 0;
        return new ReadableStream<Uint8Array>({
          pull(ctl) {
            if (sent >= size / 2) return ctl.error(changed);
            sent += 64 * 1024;
            ctl.enqueue(new Uint8Array(64 * 1024));
          },
        });
      };
      const err = await assertRejects(() => b.put("a.tar.gz", { size, open }), BadInputError);
      assertEquals(err.message, changed.message);
      assertEquals(log, [], "not retried");
      assertEquals(opens, 1, "the source was read once");
      assertEquals(await b.stat("a.tar.gz"), null, "nothing stored");
    } finally {
      await w.stop();
    }
  },
});
