/**
 * The validated shape of server.yaml as far as backup and recovery need it. Produced by
 * `loadServerConfig` (lib/config/server_yaml.ts); everything else reads this, never the YAML.
 */
import type { DestinationConfig } from "../backends.ts";

/**
 * The `backup:` section (replication and remote archives). Secrets are already resolved. What the
 * destination needs (keys, endpoint, SSH key…) is its backend's own type, tagged with the scheme.
 */
export interface BackupConfig {
  /** Replica destination URL: s3://, gcs://, sftp://, file://. */
  url: string;
  /** The destination's settings; `destination.scheme` is the URL's scheme. */
  destination: DestinationConfig;
  /** Snapshot retention in milliseconds. Default 720h. */
  retentionMs: number;
  /** WAL sync frequency in milliseconds. Default 1s. */
  syncIntervalMs: number;
  /** Snapshot interval in milliseconds. Default 24h. */
  snapshotIntervalMs: number;
  /** `backup.drill`: limits `backup drill` applies when its flags do not say otherwise. */
  drill?: DrillLimits;
  /**
   * How long `backup replicate` may spend flushing after SIGTERM/SIGINT before it gives up on an
   * unreachable replica (the unshipped WAL stays for the next start). Default 10s.
   */
  shutdownTimeoutMs?: number;
  /** HOST:PORT where `backup replicate` serves /metrics and /healthz (`backup.addr`). */
  addr?: string;
}

/** `backup.drill` in server.yaml. */
export interface DrillLimits {
  /** `max_age`: the newest archive or snapshot may be at most this old (ms). */
  maxAgeMs?: number;
  /** `max_rpo`: the replica may trail the live database by at most this much (ms). */
  maxRpoMs?: number;
}

/** What the backup commands know about a Vigo server. All paths are absolute. */
export interface ServerConfig {
  /** Absolute path of the server.yaml that was read. */
  serverYamlPath: string;
  /** Absolute server root (stacks/, secrets/, tls/). */
  serverRoot: string;
  database: {
    /** Only "sqlite" can be backed up by this tool. */
    driver: "sqlite" | "postgres";
    /** Absolute path of the SQLite database. Default `<root>/db/vigo.db`. */
    path: string;
  };
  paths: {
    /** Where archives live. Default `<root>/snapshots`. */
    snapshots: string;
  };
  /** Present when server.yaml has a `backup:` section. */
  backup?: BackupConfig;
  /** Human-readable warnings (unknown keys, world-readable files) to print on stderr. */
  warnings: string[];
}
