/**
 * `vigocli backup download NAME [-o PATH]`: fetch `archives/NAME` from the backend, streamed into a
 * temporary file that is renamed into place only when it matches the remote `.sha256` sidecar; the
 * sidecar is written next to it, so `backup verify`/`restore` check it again locally.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { say } from "./output.ts";
import { mkdir, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { IoError, toVigoError, UsageError, VigoError } from "../errors.ts";
import { removeTemporaryTree, removingTree } from "../fsutil/left_temp.ts";
import { archiveUrlOption, loadBackupSettings, openArchiveBackend } from "./archive_backend.ts";
import { credentialsFileOption, credentialSources } from "./credentials_option.ts";
import { jsonOption, serverRootOption, serverYamlOption } from "./common.ts";
import { printJson } from "./json_output.ts";
import { restartWithout } from "./lean_jit.ts";

/** `download`: download an archive from the backend */
export function backupDownloadCommand(): Command {
  return new Command("download")
    .description(
      "download archives/NAME from the backend (backup.url or --url); the file appears only after it " +
        "matched the remote .sha256 sidecar. -o omitted: <paths.snapshots>/NAME; -o a directory: NAME in it",
    )
    .argument("<name>", "archive name, as `backup list --remote` shows it")
    .addOption(new Option("-o, --output <path>", "file or directory to write"))
    .addOption(archiveUrlOption())
    .addOption(serverYamlOption())
    .addOption(serverRootOption())
    .addOption(credentialsFileOption())
    .addOption(jsonOption())
    .action(async (name, opts) => {
      await restartIfNativeDownload(opts.url, opts.serverYaml, opts.serverRoot);
      // Loaded here, not at the top, so that merely building the command tree stays cheap.
      const { ARCHIVES_PREFIX, checkArchiveName } = await import("../archive/remote_archives.ts");
      const { downloadArchive } = await import("../archive/remote_download.ts");
      checkArchiveName(name);
      const creds = await credentialSources(opts.credentialsFile);
      const cfg = await loadBackupSettings(opts.serverYaml, opts.serverRoot, opts.url === undefined, creds);
      let out: string;
      if (opts.output === undefined) {
        if (!cfg) throw new UsageError("give -o PATH (there is no server.yaml to find paths.snapshots)");
        out = join(cfg.paths.snapshots, name);
        await mkdir(cfg.paths.snapshots, { recursive: true, mode: 0o700 }).catch((err) => {
          throw toVigoError(err, cfg.paths.snapshots);
        });
      } else {
        const isDir = opts.output.endsWith("/") || (await stat(opts.output).catch(() => null))?.isDirectory();
        out = resolve(isDir ? join(opts.output, name) : opts.output);
      }
      const backend = await openArchiveBackend(opts.url, cfg?.backup, opts.serverYaml, creds);
      try {
        const r = await downloadArchive(backend, `${ARCHIVES_PREFIX}${name}`, out);
        if (opts.json) {
          printJson({ path: r.path, sidecar: r.sidecarPath, bytes: r.bytes, sha256: r.sha256 });
        } else say(`${r.path}: ${r.bytes} bytes, sha256 ${r.sha256} (matches the remote sidecar)`);
      } finally {
        await backend.close();
      }
    }) as unknown as Command;
}

/**
 * Starts the process again without JavaScriptCore's JIT (lean_jit.ts) when the download's backend writes
 * the body into the file natively (its descriptor's `downloadsNatively`: S3, GCS): no JavaScript of theirs
 * runs hot, and without the JIT the executable maps ~6 MiB less of itself. 1 GiB from s3rver, 5
 * alternating runs: peak RSS 50.6–51.3 MiB against 56.2–57.3 (rclone 44.5: 1.15× against 1.28×),
 * 1.48–1.82 s against 1.52–2.36 s, CPU alike; `Bun.unsafe.setJITPolicy(1e9)` in-process, as early as
 * main.ts, only reached 53.5–53.9 MiB. SFTP keeps the JIT: its download runs through JavaScript and reached
 * 0.78× rclone's throughput without it, 1.72× with it (64 MiB, one run each). Decided before anything is printed, from `--url` or server.yaml's backup.url
 * read without its secrets; a server.yaml that cannot be read decides nothing (the command reports it).
 */
async function restartIfNativeDownload(url: string | undefined, serverYaml: string, serverRoot: string) {
  let target = url;
  if (target === undefined) {
    const { loadServerConfig } = await import("../config/server_yaml.ts");
    target = (await loadServerConfig(serverYaml, serverRoot, { secrets: "skip" }).catch(() => undefined))
      ?.backup?.url;
  }
  if (target === undefined) return;
  const { backendFor, urlScheme } = await import("../backends.ts");
  let scheme: string;
  try {
    scheme = urlScheme(target);
  } catch {
    return; // not a URL: the command says so
  }
  if (backendFor(scheme)?.downloadsNatively) restartWithout("useJIT");
}

/**
 * Downloads the archive object `url` for `backup restore URL` (checked against its sidecar) into a private
 * temporary directory, runs `use` on it and removes the directory. The directory sits next to the restore
 * target (same filesystem, and not a RAM-backed /tmp) when that is writable. A failure (the download's,
 * `use`'s) stays the error when the directory cannot be removed, and then also says it is left.
 */
export async function withRemoteArchive<T>(
  url: string,
  serverYaml: string,
  serverRoot: string,
  credentialsFile: string | undefined,
  use: (path: string) => Promise<T>,
): Promise<T> {
  const { checkArchiveName, splitObjectUrl } = await import("../archive/remote_archives.ts");
  const { downloadArchive } = await import("../archive/remote_download.ts");
  const { root, key } = splitObjectUrl(url);
  checkArchiveName(key);
  const creds = await credentialSources(credentialsFile);
  const cfg = await loadBackupSettings(serverYaml, serverRoot, false, creds);
  const parent = dirname(resolve(serverRoot));
  const { makeTempDir } = await import("../archive/interrupt_cleanup.ts");
  const { sweepSystemTemps } = await import("../fsutil/stale_temps.ts");
  sweepSystemTemps();
  let temp: { path: string; forget: () => void };
  try {
    temp = makeTempDir(parent, ".vigo-download-");
  } catch {
    temp = makeTempDir(tmpdir(), "vigo-download-");
  }
  const dir = temp.path;
  let result: T;
  try {
    const backend = await openArchiveBackend(root, cfg?.backup, serverYaml, creds);
    let path: string;
    try {
      path = (await downloadArchive(backend, key, join(dir, basename(key)))).path;
    } finally {
      await backend.close();
    }
    try {
      result = await use(path);
    } catch (err) {
      // Named by the URL the operator gave: the downloaded copy's path is gone by the time it is read
      // ("no password" named .vigo-download-PID-…/NAME, a file that no longer exists).
      if (err instanceof VigoError) err.message = err.message.replaceAll(path, url);
      throw err;
    }
  } catch (err) {
    // No sweep looks beside the target: what is left stays until removed by hand.
    const failure = await removingTree(err, dir, "download directory", "removal by hand");
    temp.forget();
    throw failure;
  }
  const problem = await removeTemporaryTree(dir);
  temp.forget();
  if (problem !== undefined) {
    throw new IoError(`${dir}: could not be removed (${problem}) after the restore finished`, { path: dir });
  }
  return result;
}
