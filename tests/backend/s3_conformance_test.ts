/** The conformance suite against s3:// on the real SigV4-checking s3rver, through a fault proxy. */
import { openS3Backend } from "../../lib/backend/s3/s3_backend.ts";
import { startS3Server } from "../helpers/s3_server.ts";
import { backendConformance, proxiedTarget } from "./conformance.ts";
import { startFaultProxy } from "./fault_proxy.ts";

backendConformance("s3 (s3rver, path style)", async () => {
  const server = await startS3Server();
  const proxy = startFaultProxy(server.endpoint);
  const backend = openS3Backend(server.url("conformance/root"), {
    ...server.config(),
    endpoint: proxy.endpoint,
  });
  return proxiedTarget(backend, proxy, () => server.stop());
});
