/**
 * The one backend conformance suite (tests/backend/conformance.ts) against sftp:// on a real sshd,
 * reached through a TCP proxy that cuts connections on demand, so "transient failures are retried"
 * is a real dropped SSH connection followed by a reconnect.
 */
import { openSftpBackend } from "../../lib/backend/sftp/sftp_backend.ts";
import { backendConformance, proxiedTarget } from "../backend/conformance.ts";
import { startSshd } from "../helpers/sshd.ts";
import { startTcpFaultProxy } from "./tcp_fault_proxy.ts";

backendConformance("sftp (OpenSSH sshd, through a connection-cutting proxy)", async () => {
  const sshd = await startSshd();
  const proxy = startTcpFaultProxy(sshd.port);
  // The proxy is another port, so another known_hosts name for the same host key.
  const knownHosts = `${sshd.dir}/known_hosts_proxy`;
  const line = await Deno.readTextFile(sshd.knownHosts);
  await Deno.writeTextFile(knownHosts, line.replace(`]:${sshd.port} `, `]:${proxy.port} `));
  const url = `sftp://${sshd.user}@127.0.0.1:${proxy.port}${sshd.dataDir}/conformance/root`;
  const backend = await openSftpBackend(url, { keyPath: sshd.clientKey, knownHostsPath: knownHosts });
  return proxiedTarget(backend, proxy, () => sshd.cleanup());
}, { largeSize: 20 * 1024 * 1024 + 12345, noReplace: true });
