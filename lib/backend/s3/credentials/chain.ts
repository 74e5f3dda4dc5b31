/**
 * The S3 credential chain, in the order restic and Litestream users expect: server.yaml's keys (secret:
 * resolved), LITESTREAM_ACCESS_KEY_ID/SECRET, AWS_ACCESS_KEY_ID/SECRET (+ session token), the
 * AWS_PROFILE profile of ~/.aws/credentials and ~/.aws/config (incl. credential_process), ECS/EKS container
 * credentials, and EC2 instance-role credentials through IMDSv2. The first source that has credentials
 * wins; temporary ones are fetched again shortly before they expire, so a replicator running for weeks
 * on an instance role keeps signing.
 */
import { ConfigError } from "../../../errors.ts";
import { verbose } from "../../../verbose.ts";
import type { KeysSource, S3Credentials } from "../../s3_api/bucket_url.ts";

/** Credentials with the time they stop working, when temporary. */
export interface ExpiringCredentials extends S3Credentials {
  expiresAt?: Date;
}

/** One place credentials may come from. `load` returns null when this source has none. */
export interface CredentialSource {
  /** Said with -v and in the error when nothing had credentials, e.g. `AWS_ACCESS_KEY_ID`. */
  readonly name: string;
  load(): Promise<ExpiringCredentials | null>;
}

/** Temporary credentials are fetched again this long before they expire. */
const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * A provider over `sources`: the first with credentials wins; cached until shortly before expiry. `keys`
 * says, when none has any, why the config gave none and what would supply them.
 */
export function credentialChain(
  sources: CredentialSource[],
  where: string,
  now: () => number = Date.now,
  keys: KeysSource = {},
): () => Promise<S3Credentials> {
  let cached: ExpiringCredentials | undefined;
  let pending: Promise<ExpiringCredentials> | undefined;
  const fresh = (c: ExpiringCredentials) => !c.expiresAt || c.expiresAt.getTime() - REFRESH_BEFORE_MS > now();
  const resolve = async (): Promise<ExpiringCredentials> => {
    for (const source of sources) {
      const creds = await source.load();
      if (creds) {
        const until = creds.expiresAt ? ` (until ${creds.expiresAt.toISOString()})` : "";
        verbose(`${where}: credentials from ${source.name}${until}`);
        return creds;
      }
    }
    const remedies = [
      keys.remedy,
      "set LITESTREAM_ACCESS_KEY_ID/LITESTREAM_SECRET_ACCESS_KEY or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY " +
      "(or AWS_PROFILE)",
      keys.lastly,
    ].filter(Boolean);
    throw new ConfigError(
      `${where}: no credentials: ${keys.why ? `${keys.why}; ` : ""}` +
        `tried ${sources.map((s) => s.name).join(", ")}; ${remedies.join(", or ")}`,
    );
  };
  return async () => {
    if (cached && fresh(cached)) return cached;
    // One fetch at a time: parallel part uploads must not each ask the metadata service.
    pending ??= resolve().finally(() => (pending = undefined));
    cached = await pending;
    return cached;
  };
}

/** A source holding two environment variables (or config fields) that must be set together. */
export function keyPairSource(
  name: string,
  id: string | undefined,
  secret: string | undefined,
  sessionToken?: string,
): CredentialSource {
  return {
    name,
    load() {
      if (!id && !secret) return Promise.resolve(null);
      if (!id || !secret) {
        return Promise.reject(new ConfigError(`${name}: the key id and the secret key must be set together`));
      }
      return Promise.resolve({
        accessKeyId: id,
        secretAccessKey: secret,
        sessionToken: sessionToken || undefined,
      });
    },
  };
}

/** The process credential JSON (`credential_process`, ECS, IMDS) as credentials, or a ConfigError. */
export function parseCredentialJson(text: string, from: string): ExpiringCredentials {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch {
    throw new ConfigError(`${from}: credentials are not JSON`);
  }
  const id = j.AccessKeyId, secret = j.SecretAccessKey, token = j.SessionToken ?? j.Token;
  if (typeof id !== "string" || typeof secret !== "string" || !id || !secret) {
    throw new ConfigError(`${from}: credentials lack AccessKeyId/SecretAccessKey`);
  }
  const exp = typeof j.Expiration === "string" ? new Date(j.Expiration) : undefined;
  if (exp && Number.isNaN(exp.getTime())) throw new ConfigError(`${from}: Expiration is not a time`);
  return {
    accessKeyId: id,
    secretAccessKey: secret,
    sessionToken: typeof token === "string" && token ? token : undefined,
    expiresAt: exp,
  };
}
