/**
 * vigocli backup as a library. The CLI (main.ts) is a thin shell over these functions.
 * @module
 */
export * from "./lib/errors.ts";
export type { BackupConfig, ServerConfig } from "./lib/config/types.ts";
export type { Backend, ObjectInfo } from "./lib/backend/backend.ts";
export type { Pos, ReplicaClient, SnapshotInfo, WalSegmentInfo } from "./lib/litestream/replica_client.ts";
export { VERSION, versionLine } from "./lib/version.ts";
