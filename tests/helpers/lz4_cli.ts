/** Runs Debian's `lz4` CLI on `input` and returns its stdout; a non-zero exit throws with its stderr. */
export async function lz4Cli(args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("lz4", { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const w = child.stdin.getWriter();
  const writing = w.write(input).then(() => w.close());
  const out = await child.output();
  await writing;
  if (out.code !== 0) throw new Error(`lz4 ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}
