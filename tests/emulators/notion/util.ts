// Small shared helpers for the Notion emulator: JSON responses, UUIDs and Notion id
// normalisation, a seeded PRNG (reproducible drops/reorders), JSON body reading, HMAC signing.
// Invariants: ids handed out are lowercase dashed UUIDs; helpers never touch emulator state.

/** JSON response (Notion answers application/json; charset=utf-8). */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

export function uuid(): string {
  return crypto.randomUUID();
}

/**
 * Notion accepts object ids with or without dashes, in either case. Returns the canonical
 * dashed lowercase form, or undefined when the text is not a UUID.
 */
export function normalizeId(raw: string): string | undefined {
  const hex = raw.replaceAll("-", "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Random string from an alphabet (tokens, verification secrets). */
export function randomString(length: number, alphabet = ALNUM): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** Fisher-Yates shuffle in place with the given PRNG. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
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

/** Structural equality for JSON-like values (used to detect no-op property writes). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Hex HMAC-SHA256 of `body` keyed with `secret` (the webhook signature scheme). */
export async function hmacSha256Hex(secret: string, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(body)));
  return [...sig].map((b) => b.toString(16).padStart(2, "0")).join("");
}
