// Shared helpers for the emulator's own tests (not a test file itself): an in-process emulator
// per test, a thin client for the Google surface and the control API, and a local webhook
// receiver. Keeps every test independent: each one starts and closes its own emulator.

import assert from "node:assert/strict";
import { type GoogleEmulator, type GoogleEmulatorOptions, startGoogleEmulator } from "./server.ts";

export const CLIENT = { client_id: "emulator-client-id", client_secret: "emulator-client-secret" };
export const EMAIL = "alice@example.com";

export interface Res {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

export async function call(url: string, init: RequestInit = {}): Promise<Res> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

export class Harness {
  constructor(readonly emu: GoogleEmulator) {}

  ctl(path: string, body?: unknown, method = body === undefined ? "GET" : "POST"): Promise<Res> {
    return call(`${this.emu.url}/__emulator/${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  token(params: Record<string, string>, headers: Record<string, string> = {}): Promise<Res> {
    return call(`${this.emu.url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(params),
    });
  }

  /** Create the account and return a fresh access token. */
  async login(email = EMAIL): Promise<string> {
    const acct = await this.ctl("accounts", { email });
    const res = await this.token({
      ...CLIENT,
      grant_type: "refresh_token",
      refresh_token: acct.body.refresh_token as string,
    });
    return res.body.access_token as string;
  }

  api(
    at: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Res> {
    return call(`${this.emu.url}/calendar/v3/${path}`, {
      method,
      headers: { authorization: `Bearer ${at}`, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  list(at: string, query: Record<string, string>, cal = "primary"): Promise<Res> {
    return this.api(at, "GET", `calendars/${cal}/events?${new URLSearchParams(query)}`);
  }

  /** Follow nextPageToken to the end; returns items, page count and the nextSyncToken. */
  async listAll(at: string, query: Record<string, string>) {
    const items: Record<string, unknown>[] = [];
    let pages = 0;
    let pageToken: string | undefined;
    for (;;) {
      const res = await this.list(at, pageToken ? { ...query, pageToken } : query);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      pages++;
      items.push(...(res.body.items as Record<string, unknown>[]));
      pageToken = res.body.nextPageToken as string | undefined;
      if (!pageToken) return { items, pages, syncToken: res.body.nextSyncToken as string };
      assert.equal(res.body.nextSyncToken, undefined);
    }
  }
}

export async function withEmulator(
  fn: (h: Harness) => Promise<void>,
  options: GoogleEmulatorOptions = {},
): Promise<void> {
  const emu = await startGoogleEmulator({ useEnv: false, ...options });
  try {
    await fn(new Harness(emu));
  } finally {
    await emu.close();
  }
}

export interface Received {
  headers: Headers;
  body: string;
}

/** A local webhook receiver; `respond` picks the status per request (1-based). */
export function startReceiver(respond: (n: number) => number = () => 200) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({ headers: req.headers, body: await req.text() });
    return new Response(null, { status: respond(received.length) });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    received,
    close: () => server.shutdown(),
  };
}

export const event = (summary: string, startIso: string, minutes = 30) => ({
  summary,
  start: { dateTime: startIso },
  end: { dateTime: new Date(Date.parse(startIso) + minutes * 60_000).toISOString() },
});
