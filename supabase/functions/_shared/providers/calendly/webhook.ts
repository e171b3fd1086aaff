// Receiving a Calendly webhook delivery. The signature (`Calendly-Webhook-Signature:
// t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`) is verified over the RAW body, compared in
// constant time, with the timestamp within 3 minutes either way; each live subscription's own
// key is tried, then the shared key (CALENDLY_WEBHOOK_SIGNING_KEY, for a subscription made by
// hand). Anything unsigned, stale, tampered or signed with another key is a 401 (a malformed
// header a 400, a body over 256 KiB a 413) and writes nothing. A verified delivery is applied in
// ONE database call that also deduplicates it (a redelivered body changes the meeting once), so
// Calendly gets its 2xx in milliseconds; re-planning runs after the answer.
import { z } from "zod";
import { rpc } from "../../db/client.ts";
import { HttpError } from "../../http/errors.ts";
import { readLimitedBody } from "../../http/body.ts";
import { hmacSha256Hex, sha256Hex, timingSafeEqual } from "../../security/crypto.ts";
import { openForConnection } from "../../sync/credentials.ts";
import type { CalendlyEvent } from "./client.ts";
import { calendlySettings } from "./config.ts";
import { isoInstant, meetingItem } from "./mapping.ts";
import type { Config } from "../../config.ts";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Clock } from "../../clock.ts";

export const MAX_BODY_BYTES = 256 * 1024;
/** Calendly's documented replay tolerance, applied both ways (clock skew). */
export const SIGNATURE_TOLERANCE_MS = 3 * 60_000;
export const HANDLED_EVENTS = new Set(["invitee.created", "invitee.canceled"]);

export interface ParsedSignature {
  timestamp: number;
  signatures: string[];
}

/** Parses the header; a missing one is 401 (unsigned), a malformed one 400. */
export function parseSignatureHeader(value: string | null): ParsedSignature {
  if (value === null || value.trim() === "") {
    throw new HttpError(401, "unsigned", "The delivery carries no Calendly-Webhook-Signature.");
  }
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of value.split(",")) {
    const [key, ...rest] = part.trim().split("=");
    const field = rest.join("=").trim();
    if (key === "t" && /^\d{1,12}$/.test(field)) timestamp = Number(field);
    else if (key === "v1" && /^[0-9a-f]{64}$/i.test(field)) signatures.push(field.toLowerCase());
  }
  if (timestamp === null || signatures.length === 0) {
    throw new HttpError(
      400,
      "malformed_signature",
      "Calendly-Webhook-Signature must be t=<unix seconds>,v1=<hex HMAC-SHA256>.",
    );
  }
  return { timestamp, signatures };
}

/** True if any signature is the HMAC of "t.body" under `key` (constant-time comparison). */
export async function signedWith(
  raw: Uint8Array,
  signature: ParsedSignature,
  key: string,
): Promise<boolean> {
  const prefix = new TextEncoder().encode(`${signature.timestamp}.`);
  const message = new Uint8Array(prefix.length + raw.length);
  message.set(prefix);
  message.set(raw, prefix.length);
  const expected = await hmacSha256Hex(key, message);
  let matched = false;
  for (const candidate of signature.signatures) {
    if (await timingSafeEqual(candidate, expected)) matched = true;
  }
  return matched;
}

const ScheduledEvent = z.object({
  uri: z.string().min(1),
  name: z.string().nullish(),
  status: z.enum(["active", "canceled"]),
  start_time: z.string().min(1),
  end_time: z.string().min(1),
  created_at: z.string().min(1),
  updated_at: z.string().min(1),
  event_type: z.string().nullish(),
  location: z.record(z.string(), z.unknown()).nullish(),
  invitees_counter: z.object({ total: z.number(), active: z.number(), limit: z.number() })
    .nullish(),
  event_memberships: z.array(z.object({ user: z.string() }).passthrough()).nullish(),
  cancellation: z.object({
    canceled_by: z.string().nullish(),
    reason: z.string().nullish(),
    created_at: z.string().nullish(),
  }).passthrough().nullish(),
}).passthrough();

const InviteePayload = z.object({
  uri: z.string().min(1),
  email: z.string().nullish(),
  name: z.string().nullish(),
  status: z.enum(["active", "canceled"]),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
  rescheduled: z.boolean().nullish(),
  old_invitee: z.string().nullish(),
  new_invitee: z.string().nullish(),
  cancellation: z.object({
    reason: z.string().nullish(),
    created_at: z.string().nullish(),
  }).passthrough().nullish(),
  scheduled_event: ScheduledEvent,
}).passthrough();

const Envelope = z.object({
  event: z.string().min(1),
  created_at: z.string().nullish(),
  created_by: z.string().nullish(),
  payload: z.unknown(),
});

export type DeliveryOutcome =
  | { status: "applied"; busyChanged: boolean; userId: string }
  | { status: "duplicate" }
  | { status: "ignored"; reason: "unknown_event_type" | "unknown_account" };

interface Candidate {
  connection_id: string;
  user_id: string;
  external_account_id: string;
  secret_encrypted: string | null;
}

/** The Calendly user URIs a delivery may belong to (before it is trusted: only to find keys). */
function accountHints(body: unknown): string[] {
  const hints = new Set<string>();
  const envelope = body && typeof body === "object" ? body as Record<string, unknown> : {};
  if (typeof envelope.created_by === "string") hints.add(envelope.created_by);
  const payload = envelope.payload as Record<string, unknown> | undefined;
  const event = payload?.scheduled_event as Record<string, unknown> | undefined;
  for (const member of (event?.event_memberships as { user?: unknown }[] | undefined) ?? []) {
    if (typeof member?.user === "string") hints.add(member.user);
  }
  return [...hints];
}

export async function receiveCalendlyDelivery(
  context: { db: SupabaseClient; config: Config; clock: Clock },
  request: Request,
): Promise<DeliveryOutcome> {
  const raw = await readLimitedBody(request, MAX_BODY_BYTES);
  const signature = parseSignatureHeader(request.headers.get("calendly-webhook-signature"));
  if (Math.abs(context.clock.now() - signature.timestamp * 1000) > SIGNATURE_TOLERANCE_MS) {
    throw new HttpError(
      401,
      "stale_signature",
      "The signature's timestamp is not within 3 minutes.",
    );
  }
  let body: unknown = null;
  try {
    body = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    // Verified below; a body that is not JSON can only fail verification or validation.
  }
  const candidates = await rpc<Candidate[]>(context.db, "calendly_delivery_candidates", {
    p_user_uris: accountHints(body),
  });
  let verifiedBy: Candidate | "shared" | null = null;
  for (const candidate of candidates) {
    if (!candidate.secret_encrypted) continue;
    const key = await openForConnection(
      context.config,
      { provider: "calendly", ...candidate },
      candidate.secret_encrypted,
    ).catch(() => null);
    if (key && await signedWith(raw, signature, key)) {
      verifiedBy = candidate;
      break;
    }
  }
  const shared = calendlySettings(context.config).sharedSigningKey;
  if (!verifiedBy && shared && await signedWith(raw, signature, shared)) verifiedBy = "shared";
  if (!verifiedBy) {
    throw new HttpError(401, "invalid_signature", "The signature does not match the body.");
  }

  const envelope = Envelope.safeParse(body);
  if (!envelope.success) {
    throw new HttpError(400, "invalid_payload", "The delivery is not a Calendly webhook event.");
  }
  const connection = verifiedBy === "shared"
    ? candidates.find((candidate) => accountHints(body).includes(candidate.external_account_id))
    : verifiedBy;
  const eventType = envelope.data.event;
  if (!HANDLED_EVENTS.has(eventType) || !connection) {
    const reason = !connection ? "unknown_account" : "unknown_event_type";
    await rpc(context.db, "webhook_record_delivery", {
      p_provider: "calendly",
      p_dedupe_key: `${eventType}:sha256:${await sha256Hex(new TextDecoder().decode(raw))}`,
      p_event_type: eventType,
      p_payload: body,
      p_connection_id: connection?.connection_id ?? null,
      p_outcome: reason,
    });
    return { status: "ignored", reason };
  }
  const payload = InviteePayload.safeParse(envelope.data.payload);
  if (!payload.success) {
    throw new HttpError(
      400,
      "invalid_payload",
      "The invitee payload does not have Calendly's shape.",
    );
  }
  const invitee = payload.data;
  const item = meetingItem(invitee.scheduled_event as CalendlyEvent, "webhook");
  const applied = await rpc<{ duplicate: boolean; busy_changed?: boolean; user_id?: string }>(
    context.db,
    "calendly_apply_delivery",
    {
      p_connection_id: connection.connection_id,
      // An invitee is created once and canceled once: the pair names one delivery.
      p_dedupe_key: `${eventType}:${invitee.uri}`,
      p_event_type: eventType,
      p_payload: body,
      p_item: item,
      p_invitee: {
        uri: invitee.uri,
        name: invitee.name ?? null,
        email: invitee.email ?? null,
        status: invitee.status,
        rescheduled: invitee.rescheduled ?? false,
        old_invitee: invitee.old_invitee ?? null,
        new_invitee: invitee.new_invitee ?? null,
        canceled_at: invitee.status === "canceled"
          ? isoInstant(
            invitee.cancellation?.created_at ?? invitee.updated_at ?? new Date().toISOString(),
          )
          : null,
        cancel_reason: invitee.cancellation?.reason ?? null,
        created_at: invitee.created_at ? isoInstant(invitee.created_at) : null,
        updated_at: invitee.updated_at ? isoInstant(invitee.updated_at) : null,
      },
    },
  );
  if (applied.duplicate) return { status: "duplicate" };
  return {
    status: "applied",
    busyChanged: applied.busy_changed ?? false,
    userId: applied.user_id ?? connection.user_id,
  };
}
