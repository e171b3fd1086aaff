// Small shared helpers: JSON responses, random ids, a seeded PRNG and opaque token encoding.

/** JSON response with the content type Google's APIs use. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=UTF-8", ...headers },
  });
}

/** Empty-bodied response (204 and friends). */
export function empty(status = 204): Response {
  return new Response(null, { status });
}

const BASE32HEX = "0123456789abcdefghijklmnopqrstuv";
const URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function randomFrom(alphabet: string, length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** Event ids use base32hex ([a-v0-9]) like Google's generated ids. */
export function newEventId(): string {
  return randomFrom(BASE32HEX, 26);
}

/** Opaque random string for tokens / resource ids. */
export function randomToken(length = 32): string {
  return randomFrom(URLSAFE, length);
}

/** Client-supplied event ids must be 5-1024 chars of base32hex. */
export function isValidEventId(id: string): boolean {
  return /^[a-v0-9]{5,1024}$/.test(id);
}

/** Encode a JSON value as an opaque base64url string (page and sync tokens). */
export function encodeOpaque(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Inverse of encodeOpaque; returns undefined for anything that does not decode. */
export function decodeOpaque(token: string): unknown {
  try {
    const b64 = token.replaceAll("-", "+").replaceAll("_", "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
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
