/**
 * Runs an executable the way it runs on an air-gapped host: in private mount and network namespaces
 * where the repository (and so node_modules, .tools and the sources) and $HOME (and so Bun's runtime
 * cache) are empty tmpfs mounts and there is no network but loopback, from a scratch working directory,
 * with an empty environment. Anything the executable still needs then has to be inside the file.
 */
import { REPO_ROOT } from "../helpers/cli.ts";
import { runnerFor, type Target } from "../../scripts/compile.ts";

/** Result of one isolated run. */
export interface IsolatedResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Command prefix that starts `t`'s executables on this host; throws (never skips) when there is none. */
export function requireRunner(t: Target): string[] {
  const runner = runnerFor(t);
  if (!runner) {
    throw new Error(`cannot start ${t.arch} executables here: install qemu-user and libc6-arm64-cross`);
  }
  return runner;
}

/**
 * Runs `[...runner, exe, ...args]` isolated, with `cwd` as working directory. `exe` and `cwd` must be
 * outside the repository (they would be hidden too). Needs root or unprivileged user namespaces.
 */
export async function runIsolated(
  t: Target,
  exe: string,
  args: string[],
  cwd: string,
): Promise<IsolatedResult> {
  const home = Deno.env.get("HOME") ?? "/root";
  for (const hidden of [REPO_ROOT, `${home}/`]) {
    if (exe.startsWith(hidden) || cwd.startsWith(hidden)) {
      throw new Error(`isolated runs must live outside ${hidden}`);
    }
  }
  const script = 'mount -t tmpfs none "$1" && mount -t tmpfs none "$2" && cd "$3" && shift 3 && exec "$@"';
  const asRoot = Deno.uid() === 0 ? [] : ["--map-root-user"];
  const out = await new Deno.Command("unshare", {
    args: [
      ...asRoot,
      "--mount",
      "--net",
      "--propagation",
      "private",
      "sh",
      "-c",
      script,
      "sh",
      REPO_ROOT,
      home,
      cwd,
      ...requireRunner(t),
      exe,
      ...args,
    ],
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", HOME: `${cwd}/home`, LANG: "C" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
