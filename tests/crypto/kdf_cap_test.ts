/**
 * The Argon2id cost cap: a header inside the format's limits but far above what we write (1 GiB,
 * 64 passes) is refused before any key derivation, fast and naming the archive; the flags raise the
 * cap; headers at our own cost still decrypt.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { decryptingStream } from "../../lib/crypto/envelope.ts";
import { DEFAULT_KDF_CAP } from "../../lib/crypto/kdf_cap.ts";
import { CryptoError } from "../../lib/errors.ts";
import { runCli } from "../helpers/cli.ts";
import { costlyHeader, decrypt, encrypt, fast, pattern } from "./helpers.ts";

async function readAll(stream: TransformStream<Uint8Array, Uint8Array>, input: Uint8Array) {
  const w = stream.writable.getWriter();
  const drained = new Response(stream.readable).arrayBuffer();
  await Promise.all([w.write(input).then(() => w.close()), drained]);
}

Deno.test("a 1 GiB × 64-pass header is refused before deriving, naming the source", async () => {
  const t0 = performance.now();
  await assert.rejects(
    readAll(decryptingStream("pw", { source: "/x/a.tar.gz.enc" }), costlyHeader(1048576, 64)),
    (err: Error) => {
      assert.ok(err instanceof CryptoError, String(err));
      assert.match(
        err.message,
        /^\/x\/a\.tar\.gz\.enc: encrypted header asks for Argon2id 1024 MiB × 64 passes/,
      );
      return true;
    },
  );
  await assert.rejects(readAll(decryptingStream("pw"), costlyHeader(65536, 11)), /× 11 passes, above/);
  assert.ok(performance.now() - t0 < 2000, "the refusal must not pay for the KDF");
});

Deno.test("memory that is not a whole MiB is shown in KiB, never rounded to look like the limit", async () => {
  await assert.rejects(
    readAll(decryptingStream("pw"), costlyHeader(262145, 3)),
    /Argon2id 262145 KiB × 3 passes, above the limit of 256 MiB × 10/,
  );
  await assert.rejects(
    readAll(decryptingStream("pw"), costlyHeader(64, 11)),
    /Argon2id 64 KiB × 11 passes, above the limit of 256 MiB × 10/,
  );
});

Deno.test("a raised cap lets the header through to the password check; our own cost stays accepted", async () => {
  const cap = { memoryKiB: 512, iterations: 64 };
  await assert.rejects(
    readAll(decryptingStream("pw", { kdfCap: cap }), costlyHeader(512, 64)),
    /wrong password/,
  );
  assert.ok(
    DEFAULT_KDF_CAP.memoryKiB >= 65536 && DEFAULT_KDF_CAP.iterations >= 3,
    "we must read what we write",
  );
  const plain = pattern(5000);
  const sealed = await encrypt("pw", plain, fast());
  assert.deepEqual(await decrypt("pw", sealed), plain);
});

Deno.test("verify refuses the costly header in well under a second (exit 6); the flags are parsed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-kdfcap-" });
  try {
    const archive = join(dir, "costly.tar.gz");
    const bytes = costlyHeader(1048576, 64);
    writeFileSync(archive, bytes);
    const sha = createHash("sha256").update(bytes).digest("hex");
    writeFileSync(`${archive}.sha256`, `${sha}  costly.tar.gz\n`);
    const r = await runCli(["backup", "verify", archive], { env: { VIGO_BACKUP_PASSWORD: "pw" } });
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /costly\.tar\.gz: encrypted header asks for Argon2id 1024 MiB × 64 passes/);
    const bad = await runCli(["backup", "inspect", archive, "--max-kdf-memory", "0"]);
    assert.equal(bad.code, 2, bad.stderr);
    const raised = await runCli(["backup", "inspect", archive, "--max-kdf-memory", "1024"], {
      env: { VIGO_BACKUP_PASSWORD: "pw" },
    });
    assert.equal(raised.code, 6, raised.stderr);
    assert.match(raised.stderr, /× 64 passes, above the limit of 1024 MiB × 10/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
