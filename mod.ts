/**
 * vigocli backup as a library. The CLI (main.ts) is a thin shell over these functions.
 * @module
 */
export * from "./lib/errors.ts";
export type { BackupConfig, ServerConfig } from "./lib/config/types.ts";
export type { Backend, ObjectInfo, PutBody, ReplayableBody, SizedBody } from "./lib/backend/backend.ts";
export type { Pos, ReplicaClient, SnapshotInfo, WalSegmentInfo } from "./lib/litestream/replica_client.ts";
export { VERSION } from "./lib/version.ts";
export { loadServerConfig } from "./lib/config/server_yaml.ts";
export type { LoadServerConfigOptions } from "./lib/config/server_yaml.ts";
export { SecretStore } from "./lib/secrets/secret_store.ts";
export { openBackend } from "./lib/backends.ts";
export type { DestinationConfig, FileConfig, GcsConfig, S3Config, SftpBackupConfig } from "./lib/backends.ts";
export { FileBackend } from "./lib/backend/file/file_backend.ts";
export { openS3Backend } from "./lib/backend/s3/s3_backend.ts";
export { S3Backend } from "./lib/backend/s3_api/s3_api_backend.ts";
export type { S3BackendOptions } from "./lib/backend/s3_api/s3_api_backend.ts";
export { openGcsBackend } from "./lib/backend/gcs/gcs_backend.ts";
export { retryBackend, TransientError, withRetries } from "./lib/backend/retry.ts";
export type { RetryPolicy } from "./lib/backend/retry.ts";
export { type RestoreOptions, restoreReplica, type RestoreResult } from "./lib/litestream/restore.ts";
export {
  type GenerationSummary,
  listReplica,
  type ReplicaSummary,
  type WalPosition,
} from "./lib/litestream/replica_list.ts";
export { replicaClientFor } from "./lib/litestream/backend_replica_client.ts";
export { lz4CompressStream, lz4DecompressStream } from "./lib/codec/lz4/lz4.ts";
export type { Lz4WriteOptions } from "./lib/codec/lz4/lz4.ts";
export type { TarEntry, TarReader } from "./lib/codec/tar/tar_reader.ts";
export type { TarEntryType, TarHeader } from "./lib/codec/tar/tar_format.ts";
export type { ParallelGzipOptions } from "./lib/codec/gzip/gzip_parallel.ts";
export { litestreamConfigFor } from "./lib/litestream/litestream_config.ts";
export type { LitestreamConfigOptions } from "./lib/litestream/litestream_config.ts";
export { decryptingStream, encryptingStream } from "./lib/crypto/envelope.ts";
export type { DecryptOptions, EncryptOptions } from "./lib/crypto/envelope.ts";
export type { Argon2idParams, HeaderFields } from "./lib/crypto/format.ts";
export { openSftpBackend, SftpBackend } from "./lib/backend/sftp/sftp_backend.ts";
export { parseSftpConfig } from "./lib/backend/sftp/config.ts";
export { listRemoteArchives, openRemoteSink, pruneRemoteArchives } from "./lib/archive/remote_archives.ts";
export { downloadArchive } from "./lib/archive/remote_download.ts";
export type { DownloadResult } from "./lib/archive/remote_download.ts";
export type {
  PruneLine,
  PruneRemoteOptions,
  RemoteArchive,
  UploadResult,
} from "./lib/archive/remote_archives.ts";
export { uploadArchive } from "./lib/archive/archive_upload.ts";
export type { UploadArchiveOptions } from "./lib/archive/archive_upload.ts";
export type { RetentionPolicy } from "./lib/archive/archive_retention.ts";
export { loadCrateFile, parseCrate } from "./lib/crate/crate_file.ts";
export type {
  BackupResource,
  CrateFile,
  CrateLoadOptions,
  CrateResource,
  DbBackupResource,
} from "./lib/crate/crate_file.ts";
export type { ResourceReport, RunSettings } from "./lib/crate/resource_run.ts";
export { runCrate } from "./lib/crate/crate_runner.ts";
export type { CrateRunReport } from "./lib/crate/crate_runner.ts";
export { writeGzipDump } from "./lib/crate/dump_file.ts";
export type { DumpResult } from "./lib/crate/dump_file.ts";
export { restoreDump } from "./lib/crate/dump_restore.ts";
export type { RestoreResult as DumpRestoreResult } from "./lib/crate/dump_restore.ts";
export { FileChangedError, writeArchive } from "./lib/archive/archive_writer.ts";
export type { WriteArchiveOptions, WriteArchiveResult } from "./lib/archive/archive_writer.ts";
export { openFileSink } from "./lib/archive/file_sink.ts";
export type { FileSink, FileSinkResult } from "./lib/archive/file_sink.ts";
export { restoreArchive } from "./lib/archive/restore.ts";
export type {
  RestoreOptions as ArchiveRestoreOptions,
  RestoreReport as ArchiveRestoreReport,
} from "./lib/archive/restore.ts";
export { verifyArchive } from "./lib/archive/verify.ts";
export type { VerifyReport } from "./lib/archive/verify.ts";
export { listArchives } from "./lib/archive/archive_list.ts";
export type { ArchiveListing } from "./lib/archive/archive_list.ts";
export { openArchive } from "./lib/archive/archive_source.ts";
export type { OpenArchiveOptions, OpenedArchive, PasswordSource } from "./lib/archive/archive_source.ts";
export { IntegrityError, readManifestEntry } from "./lib/archive/archive_scan.ts";
export type { ScanResult } from "./lib/archive/archive_scan.ts";
export type { PlanLine } from "./lib/archive/restore_plan.ts";
export type { Manifest, ManifestEntry } from "./lib/archive/manifest.ts";
export { Replicator } from "./lib/replicate/replicator.ts";
export type { ReplicatorOptions } from "./lib/replicate/replicator_options.ts";
export { drillsDirFor, readLatestDrillReport, writeDrillReport } from "./lib/drill/drill_report.ts";
export type { DrillPathResult, DrillReport, LatestDrillReport } from "./lib/drill/drill_report.ts";
export { runDrill } from "./lib/drill/run_drill.ts";
export type { DrillOptions, DrillOutcome } from "./lib/drill/run_drill.ts";
export { parseCredentialsFile } from "./lib/config/credentials.ts";
export type { Credentials, CredentialSources } from "./lib/config/credentials.ts";
export type { CheckpointPolicy } from "./lib/replicate/checkpoint_policy.ts";
export type { EventLevel, EventSink } from "./lib/replicate/event_log.ts";
export type { StepObserver } from "./lib/replicate/replicator_options.ts";
export { ReplicationMetrics } from "./lib/metrics/replication_metrics.ts";
export { type MetricFamily, renderPrometheus } from "./lib/metrics/prometheus_text.ts";
export { collectStatus } from "./lib/status/collect_status.ts";
export type { Status } from "./lib/status/status_model.ts";
export { renderUnits, type UnitFacts, type UnitFile } from "./lib/systemd/unit_templates.ts";
export { type InstallResult, installUnits, type UnitAction } from "./lib/systemd/install_units.ts";
// Types the signatures above name: a caller can import every type a function takes or returns.
export type { BodyPass, PutOptions, TemporaryObject } from "./lib/backend/backend.ts";
export type { BucketOptions, KeysSource } from "./lib/backend/s3_api/bucket_url.ts";
export type { ApiRequest, ObjectApi, StreamedPayload } from "./lib/backend/s3_api/object_api.ts";
export type { S3Options } from "./lib/backend/s3/config.ts";
export type { GcsOpenOptions } from "./lib/backend/gcs/gcs_backend.ts";
export type { SftpConfig, SftpEnvironment, SftpOptions } from "./lib/backend/sftp/config.ts";
export type { DrillLimits } from "./lib/config/types.ts";
export type { KdfCap } from "./lib/crypto/kdf_cap.ts";
export { MANIFEST_FORMAT } from "./lib/archive/manifest.ts";
export type { CommonResource, CrossFs } from "./lib/crate/crate_file.ts";
export type { CommandOutcome } from "./lib/crate/shell_command.ts";
export { type Schedule, SCHEDULES } from "./lib/crate/schedule.ts";
export type { DumpCounts } from "./lib/crate/sql_dump.ts";
export { DRILL_PATH_NAMES, type DrillPathName, type DrillPathStatus } from "./lib/drill/drill_report.ts";
export type { OperationCounter, ReplicaOperation } from "./lib/metrics/counting_client.ts";
export type { ReplicationMetricsOptions } from "./lib/metrics/replication_metrics.ts";
export type { Sample } from "./lib/metrics/prometheus_text.ts";
export type { CollectOptions } from "./lib/status/collect_status.ts";
export type {
  ArchiveFact,
  ArchiveLocation,
  ArchivesStatus,
  CrateResourceStatus,
  LiveReplication,
  ReplicationStatus,
  SnapshotsStatus,
  StatusSummary,
} from "./lib/status/status_model.ts";
export type { InstallOptions } from "./lib/systemd/install_units.ts";
// Where the library's own lines go: verbose detail and progress nowhere unless a caller installs a
// writer; notices (a retry after a failed request, a wait for a sidecar) on stderr unless one does.
export { setNoticeSink, setVerboseSink } from "./lib/verbose.ts";
export {
  type ProgressPhase,
  type ProgressReporter,
  type ProgressUnit,
  setProgressReporter,
} from "./lib/progress.ts";
