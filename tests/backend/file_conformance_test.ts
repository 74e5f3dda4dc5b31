/** The conformance suite against file:// (E1's FileBackend) in a temp directory. */
import { FileBackend } from "../../lib/backend/file/file_backend.ts";
import { backendConformance } from "./conformance.ts";

backendConformance("file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigo-file-backend-" });
  return {
    backend: new FileBackend(`file://${dir}`),
    teardown: () => Deno.remove(dir, { recursive: true }),
  };
}, { largeSize: 3 * 1024 * 1024 + 17, noReplace: true });
