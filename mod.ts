/**
 * vigocli backup as a library. The CLI (main.ts) is a thin shell over these functions.
 * @module
 */
export * from "./lib/errors.ts";
export type { BackupConfig, ServerConfig } from "./lib/config/types.ts";
export type { Backend, ObjectInfo } from "./lib/backend/backend.ts";
export type { Pos, ReplicaClient, SnapshotInfo, WalSegmentInfo } from "./lib/litestream/replica_client.ts";
export { VERSION, versionLine } from "./lib/version.ts";
export { loadServerConfig, requireSqlite } from "./lib/config/server_yaml.ts";
export type { LoadServerConfigOptions } from "./lib/config/server_yaml.ts";
export { parseServerYaml } from "./lib/config/server_yaml_parse.ts";
export { formatDuration, parseDuration } from "./lib/config/duration.ts";
export { SecretStore } from "./lib/secrets/secret_store.ts";
export { checkSecretName } from "./lib/secrets/secret_name.ts";
export { openBackend } from "./lib/backends.ts";
export { FileBackend } from "./lib/backend/file/file_backend.ts";
export { openS3Backend } from "./lib/backend/s3/s3_backend.ts";
export { S3Backend } from "./lib/backend/s3_api/s3_api_backend.ts";
export type { S3BackendOptions } from "./lib/backend/s3_api/s3_api_backend.ts";
export { openGcsBackend } from "./lib/backend/gcs/gcs_backend.ts";
export { retryBackend, TransientError, withRetries } from "./lib/backend/retry.ts";
export type { RetryPolicy } from "./lib/backend/retry.ts";
export { type RestoreOptions, restoreReplica, type RestoreResult } from "./lib/litestream/restore.ts";
export { type GenerationSummary, listReplica, type ReplicaSummary } from "./lib/litestream/replica_list.ts";
export { replicaClientFor } from "./lib/litestream/backend_replica_client.ts";
export { lz4CompressStream, lz4DecompressStream } from "./lib/codec/lz4/lz4.ts";
export { litestreamConfigFor } from "./lib/litestream/litestream_config.ts";
export { decryptingStream, encryptingStream, isEncryptedHeader } from "./lib/crypto/envelope.ts";
export type { DecryptOptions, EncryptOptions } from "./lib/crypto/envelope.ts";
export { obtainPassword, PASSWORD_ENV } from "./lib/cli/password.ts";
export type { PasswordOptions } from "./lib/cli/password.ts";
export { openSftpBackend, SftpBackend } from "./lib/backend/sftp/sftp_backend.ts";
export { parseSftpConfig } from "./lib/backend/sftp/config.ts";
export {
  ARCHIVES_PREFIX,
  downloadArchive,
  listRemoteArchives,
  openRemoteSink,
  pruneRemoteArchives,
} from "./lib/archive/remote_archives.ts";
export { planRetention } from "./lib/archive/archive_retention.ts";
export { loadCrateFile, parseCrate } from "./lib/crate/crate_file.ts";
export type { CrateFile, CrateResource } from "./lib/crate/crate_file.ts";
export { runCrate } from "./lib/crate/crate_runner.ts";
export type { CrateRunReport } from "./lib/crate/crate_runner.ts";
export { writeGzipDump } from "./lib/crate/dump_file.ts";
export { DUMP_HEADER, dumpSql } from "./lib/crate/sql_dump.ts";
export { restoreDump } from "./lib/crate/dump_restore.ts";
export { snapshotUsage } from "./lib/crate/snapshot_usage.ts";
export { formatSnapshotName, parseSnapshotName } from "./lib/crate/snapshot_name.ts";
export { snapshotsToPrune } from "./lib/crate/retention.ts";
export { FileChangedError, writeArchive } from "./lib/archive/archive_writer.ts";
export type { WriteArchiveOptions, WriteArchiveResult } from "./lib/archive/archive_writer.ts";
export { openFileSink } from "./lib/archive/file_sink.ts";
export { restoreArchive } from "./lib/archive/restore.ts";
export type {
  RestoreOptions as ArchiveRestoreOptions,
  RestoreReport as ArchiveRestoreReport,
} from "./lib/archive/restore.ts";
export { verifyArchive } from "./lib/archive/verify.ts";
export type { VerifyReport } from "./lib/archive/verify.ts";
export { listArchives } from "./lib/archive/archive_list.ts";
export type { ArchiveListing } from "./lib/archive/archive_list.ts";
export { openArchive, readSidecar } from "./lib/archive/archive_source.ts";
export { IntegrityError, readManifestEntry, scanArchive } from "./lib/archive/archive_scan.ts";
export { parseManifest } from "./lib/archive/manifest.ts";
export type { Manifest, ManifestEntry } from "./lib/archive/manifest.ts";
export { inspectDatabase, snapshotDatabase } from "./lib/sqlite/online_snapshot.ts";
export { databaseInUse } from "./lib/sqlite/lock_probe.ts";
export { Replicator } from "./lib/replicate/replicator.ts";
export type { ReplicatorOptions } from "./lib/replicate/replicator.ts";
