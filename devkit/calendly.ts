// Helpers for the Calendly emulator's control API and for connecting a test user's Calendly
// account through setup-calendar-webhook, shared by tests, the demo and the benchmarks.
import assert from "node:assert/strict";
import { callEmulatorControl } from "./emulator_control.ts";
import { stack, type TestUser } from "./stack.ts";
import type { ConnectCalendlyResult } from "../supabase/functions/_shared/providers/calendly/connect.ts";

export function calendly<T = Record<string, unknown>>(
  path: string,
  body?: unknown,
  method?: string,
): Promise<T> {
  return callEmulatorControl<T>("calendly", stack.calendlyEmulatorUrl, path, body, method);
}

export interface CalendlyAccount {
  uri: string;
  organization: string;
  email: string;
  refresh_token: string;
}

export function createCalendlyAccount(user: TestUser): Promise<CalendlyAccount> {
  return calendly<CalendlyAccount>("/users", { email: user.email, name: user.email });
}

/** What setup-calendar-webhook answers for Calendly. */
export type CalendlySetup = ConnectCalendlyResult;

export async function connectCalendly(
  user: TestUser,
  account: CalendlyAccount,
): Promise<CalendlySetup> {
  // Calendly's refresh tokens are single-use: each setup needs one the app has not used yet.
  const fresh = await calendly<CalendlyAccount>("/users", { email: account.email });
  const response = await fetch(stack.functionUrl("setup-calendar-webhook"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.jwt}`, "content-type": "application/json" },
    body: JSON.stringify({ provider: "calendly", refresh_token: fresh.refresh_token }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body as CalendlySetup;
}

/** Books a meeting as an invitee would (Calendly then delivers invitee.created). */
export function book(
  account: CalendlyAccount,
  start: Date,
  minutes: number,
  invitee = { email: `guest-${crypto.randomUUID().slice(0, 6)}@example.test` },
  extra: Record<string, unknown> = {},
) {
  return calendly<{ event: { uri: string }; invitee: { uri: string } }>("/bookings", {
    user: account.uri,
    start_time: start.toISOString(),
    duration_minutes: minutes,
    invitee,
    wait: true,
    ...extra,
  });
}
