// Calendly-Webhook-Signature: `t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<raw body>")>`, the
// algorithm of Calendly's webhook-signatures guide. Invariant: the body is signed byte-for-byte
// as sent; nothing re-serialises it.

const encoder = new TextEncoder();

export async function hmacSha256Hex(key: string, message: string): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function signatureHeader(key: string, t: number, body: string): Promise<string> {
  return `t=${t},v1=${await hmacSha256Hex(key, `${t}.${body}`)}`;
}
