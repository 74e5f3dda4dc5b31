/** The one backend conformance suite (tests/backend/conformance.ts) against sftp:// on a real sshd. */
import { openSftpBackend } from "../../lib/sftp/sftp_backend.ts";
import { backendConformance } from "../backend/conformance.ts";
import { startSshd } from "../helpers/sshd.ts";

backendConformance("sftp (OpenSSH sshd)", async () => {
  const sshd = await startSshd();
  const backend = await openSftpBackend(sshd.url("conformance/root"), {
    keyPath: sshd.clientKey,
    knownHostsPath: sshd.knownHosts,
  });
  return { backend, teardown: () => sshd.cleanup() };
}, { largeSize: 20 * 1024 * 1024 + 12345 });
