// Which provider emulators the local stack starts, and the function secrets that point the
// functions at them.
//
// Invariants:
//   - Every <emulators dir>/<name>/main.ts is an emulator (a folder without main.ts, or a missing
//     emulators dir, is skipped). It is started with `--port <N>`, N from <NAME>_EMULATOR_PORT or
//     0, and prints `<NAME>_EMULATOR_URL=http://127.0.0.1:<port>` once it listens (<NAME> is the
//     folder name in upper case, "-" as "_").
//   - The secrets below are defaults only: the env file and the process environment override
//     them (see stack/supervisor.ts).

export interface EmulatorDefinition {
  /** The folder name, e.g. "google". */
  name: string;
  entrypoint: string;
  /** e.g. GOOGLE_EMULATOR_URL, the line it prints and the variable `make status` exports. */
  urlVariable: string;
  /** e.g. GOOGLE_EMULATOR_PORT, a fixed port for it (0 or unset: any free port). */
  portVariable: string;
}

function variablePrefix(name: string): string {
  return name.toUpperCase().replaceAll("-", "_");
}

export async function findEmulators(dir: string): Promise<EmulatorDefinition[]> {
  const found: EmulatorDefinition[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isDirectory || !/^[a-z0-9][a-z0-9_-]*$/i.test(entry.name)) continue;
      const entrypoint = `${dir}/${entry.name}/main.ts`;
      try {
        if (!(await Deno.stat(entrypoint)).isFile) continue;
      } catch {
        continue;
      }
      const prefix = variablePrefix(entry.name);
      found.push({
        name: entry.name,
        entrypoint,
        urlVariable: `${prefix}_EMULATOR_URL`,
        portVariable: `${prefix}_EMULATOR_PORT`,
      });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** The port argument for an emulator: <NAME>_EMULATOR_PORT if it is a valid port, else 0. */
export function emulatorPort(definition: EmulatorDefinition, env: Record<string, string>): number {
  const port = Number(env[definition.portVariable] ?? 0);
  return Number.isInteger(port) && port >= 0 && port <= 65535 ? port : 0;
}

/** Function secrets for the emulators that run (by their *_EMULATOR_URL). */
export function emulatorSecrets(urls: Record<string, string>): Record<string, string> {
  const base = (name: string) => urls[name]?.replace(/\/+$/, "");
  const secrets: Record<string, string> = {};
  const google = base("GOOGLE_EMULATOR_URL");
  if (google) {
    Object.assign(secrets, {
      GOOGLE_OAUTH_TOKEN_URL: `${google}/token`,
      GOOGLE_CALENDAR_API_URL: `${google}/`,
      GOOGLE_OAUTH_REVOKE_URL: `${google}/revoke`,
      GOOGLE_CLIENT_ID: "emulator-client-id",
      GOOGLE_CLIENT_SECRET: "emulator-client-secret",
    });
  }
  const calendly = base("CALENDLY_EMULATOR_URL");
  if (calendly) {
    Object.assign(secrets, {
      CALENDLY_API_URL: calendly,
      CALENDLY_OAUTH_TOKEN_URL: `${calendly}/oauth/token`,
      CALENDLY_OAUTH_REVOKE_URL: `${calendly}/oauth/revoke`,
      CALENDLY_CLIENT_ID: "emulator-calendly-client-id",
      CALENDLY_CLIENT_SECRET: "emulator-calendly-client-secret",
      // The emulator signs subscriptions made without a key (by hand, as in the seed) with its
      // app-wide key; the functions try it after each subscription's own.
      CALENDLY_WEBHOOK_SIGNING_KEY: "emulator-calendly-app-signing-key",
    });
  }
  const notion = base("NOTION_EMULATOR_URL");
  if (notion) {
    Object.assign(secrets, {
      NOTION_API_URL: notion,
      NOTION_OAUTH_TOKEN_URL: `${notion}/v1/oauth/token`,
      NOTION_OAUTH_REVOKE_URL: `${notion}/v1/oauth/revoke`,
      NOTION_CLIENT_ID: "emulator-notion-client-id",
      NOTION_CLIENT_SECRET: "emulator-notion-client-secret",
    });
  }
  return secrets;
}
