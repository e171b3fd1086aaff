// CLI entry: deno run -A tests/emulators/google/main.ts [--port 54330]
// Prints GOOGLE_EMULATOR_URL=http://127.0.0.1:PORT once listening; exits on SIGINT/SIGTERM.

import { startGoogleEmulator } from "./server.ts";

function portFromArgs(args: string[]): number | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--port") return Number(args[i + 1]);
    if (a.startsWith("--port=")) return Number(a.slice("--port=".length));
  }
  return undefined;
}

const port = portFromArgs(Deno.args) ?? Number(Deno.env.get("GOOGLE_EMULATOR_PORT") ?? "54330");
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid port: ${port}`);
  Deno.exit(2);
}

const emulator = await startGoogleEmulator({ port });
console.log(`GOOGLE_EMULATOR_URL=${emulator.url}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await emulator.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
