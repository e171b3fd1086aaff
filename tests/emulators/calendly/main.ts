// CLI entry: deno run -A tests/emulators/calendly/main.ts [--port 54331]
// Prints exactly one line, CALENDLY_EMULATOR_URL=http://127.0.0.1:PORT, once listening; exits
// cleanly on SIGINT/SIGTERM. Port: --port, else CALENDLY_EMULATOR_PORT, else 54331 (0 = any).

import { startCalendlyEmulator } from "./server.ts";

function portFromArgs(args: string[]): number | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--port") return Number(args[i + 1]);
    if (a.startsWith("--port=")) return Number(a.slice("--port=".length));
  }
  return undefined;
}

const port = portFromArgs(Deno.args) ??
  Number(Deno.env.get("CALENDLY_EMULATOR_PORT") ?? "54331");
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid port: ${port}`);
  Deno.exit(2);
}

const emulator = await startCalendlyEmulator({ port });
console.log(`CALENDLY_EMULATOR_URL=${emulator.url}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await emulator.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
