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
