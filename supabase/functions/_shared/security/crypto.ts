// Cryptographic helpers on Web Crypto and node:crypto: sealing secrets at rest (AES-256-GCM,
// key from a function secret, so the database alone can never open them), SHA-256 and
// HMAC-SHA256 digests (channel tokens, webhook signatures), random tokens, and constant-time
// comparison. Encodings come from node:buffer; comparison from node:crypto's timingSafeEqual.
import { Buffer } from "node:buffer";
import { createHash, timingSafeEqual as nodeTimingSafeEqual } from "node:crypto";

const VERSION = "v1";
const encoder = new TextEncoder();

const keyCache = new Map<string, Promise<CryptoKey>>();

function importKey(base64Key: string): Promise<CryptoKey> {
  let key = keyCache.get(base64Key);
  if (!key) {
    const raw = Buffer.from(base64Key, "base64");
    if (raw.length !== 32) {
      throw new Error("TOKEN_ENCRYPTION_KEY must be base64 of exactly 32 bytes (AES-256)");
    }
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keyCache.set(base64Key, key);
  }
  return key;
}

/**
 * Seals with a fresh 96-bit IV. `context` is bound as additional authenticated data, so a
 * ciphertext copied to another row (another context) does not open there.
 * Output: `v1.<iv base64>.<ciphertext+tag base64>`.
 */
export async function sealSecret(
  plaintext: string,
  base64Key: string,
  context: string,
): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
    await importKey(base64Key),
    encoder.encode(plaintext),
  );
  return `${VERSION}.${Buffer.from(iv).toString("base64")}.${
    Buffer.from(ciphertext).toString("base64")
  }`;
}

export async function openSecret(
  sealed: string,
  base64Key: string,
  context: string,
): Promise<string> {
  const [version, iv, ciphertext] = sealed.split(".");
  if (version !== VERSION || !iv || !ciphertext) throw new Error("unrecognised ciphertext format");
  const plaintext = await crypto.subtle.decrypt(
    {
      name: "AES-GCM",
      iv: Buffer.from(iv, "base64"),
      additionalData: encoder.encode(context),
    },
    await importKey(base64Key),
    Buffer.from(ciphertext, "base64"),
  );
  return new TextDecoder().decode(plaintext);
}

/**
 * Hex SHA-256 of a text. node:crypto hashes in the calling thread: Web Crypto's digest is
 * handed to a worker thread and back, which costs more than hashing a token (the receiver
 * hashes one per notification).
 */
export function sha256Hex(value: string): Promise<string> {
  return Promise.resolve(createHash("sha256").update(value, "utf8").digest("hex"));
}

/** Hex HMAC-SHA256 of `message` (bytes or text) keyed with `key` (webhook signatures). */
export async function hmacSha256Hex(key: string, message: string | Uint8Array): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const data = typeof message === "string" ? encoder.encode(message) : message;
  return Buffer.from(await crypto.subtle.sign("HMAC", cryptoKey, data)).toString("hex");
}

/** URL-safe random token with `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

/**
 * Compares two strings in time independent of their content and length: both are hashed to 32
 * bytes first, so timingSafeEqual (which needs equal lengths) never reveals the length either.
 */
export async function timingSafeEqual(a: string, b: string): Promise<boolean> {
  const [left, right] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return nodeTimingSafeEqual(new Uint8Array(left), new Uint8Array(right));
}
