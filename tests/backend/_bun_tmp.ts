import { startS3Server } from "../helpers/s3_server.ts";
const s = await startS3Server();
const out = await new Deno.Command("/work/main/.tools/node_modules/.bin/bun", { args: ["run", "/tmp/buntest/child.ts"], cwd: "/work/main", env: { CFG: JSON.stringify({ url: s.url("b"), ...s.config() }) } }).output();
console.log(new TextDecoder().decode(out.stdout), new TextDecoder().decode(out.stderr));
await s.stop();
