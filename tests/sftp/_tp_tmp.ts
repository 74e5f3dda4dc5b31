import { openSftpBackend } from "../../lib/sftp/sftp_backend.ts";
import { startSshd } from "../helpers/sshd.ts";
import { patternStream } from "../backend/conformance.ts";
const sshd = await startSshd();
const b = await openSftpBackend(sshd.url("x"), { keyPath: sshd.clientKey, knownHostsPath: sshd.knownHosts });
const size = 64 << 20;
for (let i = 0; i < 2; i++) {
  let t = performance.now();
  await b.put("big", patternStream(size, 3));
  console.log("up MB/s", size / 1e6 / ((performance.now() - t) / 1000));
  t = performance.now();
  let n = 0;
  for await (const c of await b.get("big")) n += c.length;
  console.log("down MB/s", n / 1e6 / ((performance.now() - t) / 1000));
}
await b.close();
await sshd.cleanup();
