/**
 * Test driver for obtainPassword in a separate process (so stdin, the environment and the
 * controlling terminal are real): `obtain_password_script.ts [--confirm] [--password-file FILE]`
 * prints `{"password": …}` on stdout, or `vigocli: <message>` on stderr with the error's exit code.
 */
import process from "node:process";
import { obtainPassword } from "../../lib/cli/password.ts";
import { reportError } from "../../lib/cli/run_action.ts";
import { holdStartupSignals } from "../../lib/startup_signals.ts";

// As main.ts does: a signal ends it with 130 and 'interrupted (SIGTERM)'.
holdStartupSignals();
const args = process.argv.slice(2);
const fileAt = args.indexOf("--password-file");
try {
  const password = await obtainPassword({
    confirm: args.includes("--confirm"),
    passwordFile: fileAt >= 0 ? args[fileAt + 1] : undefined,
  });
  console.log(JSON.stringify({ password }));
} catch (err) {
  process.exit(reportError(err));
}
