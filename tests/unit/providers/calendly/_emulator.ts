// The Calendly emulator in-process for unit tests, and a client wired to it the way the bundle
// wires one (shared TokenSource with Calendly's rotating refresh tokens).
import { callEmulatorControl } from "../../../../devkit/emulator_control.ts";
import { startCalendlyEmulator } from "../../../emulators/calendly/server.ts";
import {
  CalendlyClient,
  calendlyTokenEndpoint,
} from "../../../../supabase/functions/_shared/providers/calendly/client.ts";
import type { CalendlyConfig } from "../../../../supabase/functions/_shared/providers/calendly/config.ts";
import {
  type DurableTokenStore,
  TokenSource,
} from "../../../../supabase/functions/_shared/sync/token_source.ts";

export type Emulator = Awaited<ReturnType<typeof startCalendlyEmulator>>;

export async function withEmulator(fn: (emu: Emulator) => Promise<void>) {
  const emu = await startCalendlyEmulator({ port: 0, useEnv: false, retryBaseMs: 5 });
  try {
    await fn(emu);
  } finally {
    await emu.close();
  }
}

export function control<T = Record<string, unknown>>(
  emu: Emulator,
  path: string,
  body?: unknown,
): Promise<T> {
  return callEmulatorControl<T>("control", emu.url, path, body);
}

export function calendlyConfig(emu: Emulator): CalendlyConfig {
  return {
    clientId: "emulator-calendly-client-id",
    clientSecret: "emulator-calendly-client-secret",
    apiUrl: emu.url,
    oauthTokenUrl: `${emu.url}/oauth/token`,
    oauthRevokeUrl: `${emu.url}/oauth/revoke`,
    webhookUrl: "http://127.0.0.1:9/calendly-webhook",
    sharedSigningKey: null,
  };
}

export function calendlyClient(
  emu: Emulator,
  refreshToken: string,
  durable?: DurableTokenStore,
): CalendlyClient {
  const config = calendlyConfig(emu);
  return new CalendlyClient({
    config,
    tokens: new TokenSource({
      grant: calendlyTokenEndpoint(config).refresh,
      refreshToken,
      durable,
    }),
    backoff: { baseDelayMs: 1, maxDelayMs: 5 },
  });
}
