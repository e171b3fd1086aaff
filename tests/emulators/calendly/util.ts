// Small shared helpers: JSON responses, ids, a seeded PRNG, opaque cursors and Calendly-style
// timestamps. Pure functions only; nothing here touches emulator state.

/** JSON response (Calendly answers `application/json; charset=utf-8`). */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** Empty-bodied response (204 and friends). */
export function empty(status = 204, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers });
}

/** Resource ids are lowercase v4 UUIDs, like Calendly's. */
export function uuid(): string {
  return crypto.randomUUID();
}

const URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Opaque random string for tokens and codes. */
export function randomToken(length = 43): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += URLSAFE[b % URLSAFE.length];
  return out;
}

/** Encode a JSON value as an opaque base64url string (page tokens). */
export function encodeOpaque(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Inverse of encodeOpaque; undefined for anything that does not decode. */
export function decodeOpaque(token: string): unknown {
  try {
    const b64 = token.replaceAll("-", "+").replaceAll("_", "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  } catch {
    return undefined;
  }
}

/**
 * Calendly timestamps carry microseconds: `2025-05-22T13:00:00.000000Z`. The emulator only has
 * millisecond precision, so the last three digits are always zero.
 */
export function toIso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Unix seconds (OAuth `created_at`, signature `t`). */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** Parse an ISO date-time (with an offset or Z); undefined when it is not one. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Read a JSON body; undefined for an empty body, throws SyntaxError for malformed JSON. */
export async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  if (text.trim() === "") return undefined;
  return JSON.parse(text);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The last path segment of a URI or the value itself (accepts a uuid or a full resource URI). */
export function lastSegment(ref: string): string {
  const trimmed = ref.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}
