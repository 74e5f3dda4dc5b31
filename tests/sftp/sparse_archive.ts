/**
 * An archive of `size` bytes with its sidecar: a gzip header, then zeros (upload checks the head and the
 * sidecar, not the whole gzip stream), written sparse so that a large one costs no disk.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";

export async function sparseArchive(dir: string, name: string, size: number): Promise<string> {
  const path = join(dir, name);
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  await f.write(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
  await f.truncate(size);
  f.close();
  const hash = createHash("sha256");
  for await (const chunk of (await Deno.open(path)).readable) hash.update(chunk);
  await Deno.writeTextFile(`${path}.sha256`, `${hash.digest("hex")}  ${name}\n`);
  return path;
}
