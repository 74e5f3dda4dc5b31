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
