// Reading a webhook's raw body (signatures are computed over the exact bytes) without letting a
// sender make the function buffer more than the provider ever sends.
import { HttpError } from "./errors.ts";

/** Reads at most `limit` bytes of the body; more is a 413 (nothing is read past the limit). */
export async function readLimitedBody(
  request: Request,
  limit: number,
): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpError(413, "payload_too_large", `The body is larger than ${limit} bytes.`);
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge();
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}
