/**
 * The conformance suite against gcs://: once with HMAC keys (SigV4) addressed at the s3rver as the
 * GCS endpoint, once with Application Default Credentials (service-account JWT → token endpoint that
 * verifies the signature → bearer token checked by the XML API shim in front of the s3rver).
 */
import { openGcsBackend } from "../../lib/backend/gcs/gcs_backend.ts";
import { startGcsShim, startGcsTokenServer } from "../helpers/gcs_token_server.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { backendConformance, proxiedTarget } from "./conformance.ts";
import { startFaultProxy } from "./fault_proxy.ts";
import { generateServiceAccountKey, SA_EMAIL, writeServiceAccountFile } from "./gcs_fixtures.ts";

backendConformance("gcs (HMAC keys, SigV4 against s3rver)", async () => {
  const server = await startS3Server();
  const proxy = startFaultProxy(server.endpoint);
  const backend = await openGcsBackend(`gcs://${server.bucket}/gcs-hmac/root`, {
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    endpoint: proxy.endpoint,
  }, { env: {} });
  return proxiedTarget(backend, proxy, () => server.stop());
});

backendConformance("gcs (ADC service account, bearer token)", async () => {
  const server = await startS3Server();
  const key = await generateServiceAccountKey();
  const tokens = startGcsTokenServer({ publicKey: key.publicKey, clientEmail: SA_EMAIL });
  const shim = startGcsShim(tokens, server);
  const proxy = startFaultProxy(shim.endpoint);
  const dir = await Deno.makeTempDir({ prefix: "vigo-gcs-adc-" });
  const saPath = await writeServiceAccountFile(dir, key.pem, tokens.tokenUri);
  const backend = await openGcsBackend(`gcs://${server.bucket}/gcs-adc/root`, { endpoint: proxy.endpoint }, {
    env: { GOOGLE_APPLICATION_CREDENTIALS: saPath },
    homeDir: dir,
  });
  return proxiedTarget(backend, proxy, async () => {
    if (shim.unauthorized() !== 0) throw new Error(`shim refused ${shim.unauthorized()} requests`);
    if (tokens.issued.jwt !== 1) throw new Error(`expected one cached token, issued ${tokens.issued.jwt}`);
    await shim.stop();
    await tokens.stop();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  });
}, { largeSize: 17 * 1024 * 1024 + 3 });
