/**
 * Credentials served over HTTP by the platform: ECS/EKS container credentials
 * (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]) and
 * the EC2 instance role through IMDSv2 (a session token first, then the role's credentials;
 * AWS_EC2_METADATA_SERVICE_ENDPOINT moves it, AWS_EC2_METADATA_DISABLED=true turns it off).
 */
import { readFile } from "node:fs/promises";
import { ConfigError } from "../../../errors.ts";
import { type CredentialSource, parseCredentialJson } from "./chain.ts";

/** The link-local address ECS serves RELATIVE_URI credentials on. */
const ECS_HOST = "http://169.254.170.2";
/** The instance metadata service's usual address. */
const IMDS_DEFAULT = "http://169.254.169.254";
/** Off EC2 nothing answers there; do not make every credential-less run wait long for it. */
const IMDS_TIMEOUT_MS = 1000;

async function fetchText(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    return await fetch(url, { ...init, signal: ctl.signal });
  } finally {
    clearTimeout(timer);
  }
}

/** The container credentials source; has none when neither variable is set. */
export function containerSource(env: Record<string, string | undefined>): CredentialSource {
  const url = env.AWS_CONTAINER_CREDENTIALS_FULL_URI ??
    (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
      ? `${ECS_HOST}${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}`
      : undefined);
  return {
    name: "container credentials (AWS_CONTAINER_CREDENTIALS_*)",
    async load() {
      if (!url) return null;
      const headers = new Headers();
      const tokenFile = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
      const token = tokenFile
        ? (await readFile(tokenFile, "utf8").catch((e) => {
          throw new ConfigError(`${tokenFile}: cannot read the container authorization token (${e.message})`);
        })).trim()
        : env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
      if (token) headers.set("authorization", token);
      let res: Response;
      try {
        res = await fetchText(url, { headers }, 5000);
      } catch (err) {
        throw new ConfigError(`${url}: container credentials unreachable (${causeOf(err)})`);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new ConfigError(`${url}: container credentials refused (HTTP ${res.status})`);
      }
      return parseCredentialJson(await res.text(), url);
    },
  };
}

/** The EC2 instance-role source (IMDSv2); has none when the service does not answer. */
export function imdsSource(env: Record<string, string | undefined>): CredentialSource {
  const base = (env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? IMDS_DEFAULT).replace(/\/+$/, "");
  const disabled = (env.AWS_EC2_METADATA_DISABLED ?? "").toLowerCase() === "true";
  return {
    name: `EC2 instance role (IMDSv2 at ${base})`,
    async load() {
      if (disabled) return null;
      let token: string;
      try {
        const res = await fetchText(`${base}/latest/api/token`, {
          method: "PUT",
          headers: { "x-aws-ec2-metadata-token-ttl-seconds": "21600" },
        }, IMDS_TIMEOUT_MS);
        if (!res.ok) {
          await res.body?.cancel();
          return null;
        }
        token = await res.text();
      } catch {
        return null; // not on EC2 (or IMDS off): this source simply has nothing
      }
      const headers = { "x-aws-ec2-metadata-token": token };
      const roleUrl = `${base}/latest/meta-data/iam/security-credentials/`;
      const roles = await fetchText(roleUrl, { headers }, 5000);
      if (roles.status === 404) {
        await roles.body?.cancel();
        return null; // an instance without a role
      }
      if (!roles.ok) throw new ConfigError(`${roleUrl}: HTTP ${roles.status}`);
      const role = (await roles.text()).split("\n")[0].trim();
      const credUrl = `${roleUrl}${encodeURIComponent(role)}`;
      const res = await fetchText(credUrl, { headers }, 5000);
      if (!res.ok) {
        await res.body?.cancel();
        throw new ConfigError(`${credUrl}: HTTP ${res.status}`);
      }
      return parseCredentialJson(await res.text(), credUrl);
    },
  };
}

function causeOf(err: unknown): string {
  const e = err as Error & { cause?: { code?: string } };
  return e.cause?.code ?? e.name ?? String(err);
}
