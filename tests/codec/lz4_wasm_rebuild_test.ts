/**
 * The embedded WebAssembly LZ4 decoder and compressor are exactly what Debian's wat2wasm (package wabt)
 * makes of lz4_decode.wat and lz4_encode.wat, so the .wat files in the repository are the source of what
 * runs.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { lz4DecoderModule } from "../../lib/codec/lz4/lz4_decode_wasm.ts";
import { lz4EncoderModule } from "../../lib/codec/lz4/lz4_encode_wasm.ts";

for (const [name, embedded] of [["decode", lz4DecoderModule], ["encode", lz4EncoderModule]] as const) {
  Deno.test(`the embedded LZ4 ${name} module is wat2wasm's output for lz4_${name}.wat, byte for byte`, async () => {
    const wat = fileURLToPath(new URL(`../../lib/codec/lz4/lz4_${name}.wat`, import.meta.url));
    const out = await new Deno.Command("wat2wasm", {
      args: [wat, "--output=-"],
      stdout: "piped",
      stderr: "piped",
    })
      .output()
      .catch((err) => {
        throw new Error(`wat2wasm not found (install Debian's wabt: scripts/install_test_deps.sh): ${err}`);
      });
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.ok(out.stdout.length > 0, "wat2wasm wrote nothing");
    assert.deepEqual(
      embedded(),
      out.stdout,
      `lib/codec/lz4/lz4_${name}_wasm.ts embeds other bytes than lz4_${name}.wat assembles to: regenerate ` +
        `MODULE_BASE64 with \`wat2wasm lib/codec/lz4/lz4_${name}.wat --output=- | base64 -w0\``,
    );
  });
}
