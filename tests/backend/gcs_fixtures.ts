/** Service-account keys and ADC files for the GCS tests (keys generated per run with WebCrypto). */
import { join } from "node:path";

/** An RSA key pair and the PKCS#8 PEM of its private half. */
export interface ServiceAccountKey {
  publicKey: CryptoKey;
  pem: string;
}

/** Generates a fresh 2048-bit RS256 key pair. */
export async function generateServiceAccountKey(): Promise<ServiceAccountKey> {
  const kp = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", kp.privateKey));
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/.{64}/g, "$&\n");
  return { publicKey: kp.publicKey, pem: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n` };
}

/** The service account every GCS test uses. */
export const SA_EMAIL = "vigo-backup@vigo-test.iam.gserviceaccount.com";

/** Writes a service-account JSON file (as the Cloud console downloads it) and returns its path. */
export async function writeServiceAccountFile(dir: string, pem: string, tokenUri: string): Promise<string> {
  const path = join(dir, "service-account.json");
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      type: "service_account",
      project_id: "vigo-test",
      private_key_id: "0123456789abcdef",
      private_key: pem,
      client_email: SA_EMAIL,
      client_id: "1234567890",
      token_uri: tokenUri,
    }),
  );
  return path;
}
