// Receiving Notion's integration webhooks (POST notion-webhook), and the operator's access to
// the verification token.
//   - The VERIFICATION POST: when a person creates a subscription in the integration's settings,
//     Notion POSTs `{"verification_token": "secret_…"}` once, unsigned. It is stored sealed with
//     TOKEN_ENCRYPTION_KEY (notion_webhook_verifications), answered 200 and acted on in no other
//     way. The operator reads it once (GET notion-webhook with the service role key) and pastes
//     it into Notion; a token verifies deliveries only from that read on, so a token anyone
//     could POST to this open endpoint is never trusted by itself.
//   - EVENTS: `X-Notion-Signature: sha256=<hex>` must be the HMAC-SHA256 of the RAW body keyed
//     with a trusted token (compared in constant time). Unsigned, malformed, tampered or
//     signed with any other key: 401 and nothing written; a body over 256 KiB: 413. A verified
//     event is recorded and deduplicated by its id (a retry or redelivery changes nothing twice)
//     and the followed data sources it concerns are marked as needing a sync, in ONE database
//     call (notion_receive_event); the answer goes at once and the sync runs after it.
// Events carry ids, never values, may be aggregated and arrive out of order: they are only a
// reason to sync, and the sync reads the truth from Notion.
import type { SupabaseClient } from "@supabase/supabase-js";
import { z } from "zod";
import type { Config } from "../../config.ts";
import { rpc } from "../../db/client.ts";
import { HttpError } from "../../http/errors.ts";
import {
  hmacSha256Hex,
  openSecret,
  sealSecret,
  sha256Hex,
  timingSafeEqual,
} from "../../security/crypto.ts";
import type { SyncTarget } from "../../sync/types.ts";
import { readLimitedBody } from "../../http/body.ts";
import { normalizeNotionId } from "./mapping.ts";

/** Notion's events carry ids only (no page content); anything larger is not Notion's. */
const MAX_BODY_BYTES = 256 * 1024;
/** Associated data binding a sealed verification token to its table. */
const TOKEN_CONTEXT = "notion_webhook_verifications";

export interface WebhookContext {
  db: SupabaseClient;
  config: Pick<Config, "TOKEN_ENCRYPTION_KEY">;
}

export interface DeliveryTarget extends SyncTarget {
  userId: string;
  /** A sync holds the data source and will run the follow-up itself. */
  running: boolean;
}

export type NotionDeliveryOutcome =
  | { status: "verification_stored" }
  | { status: "duplicate" }
  | { status: "marked" | "unknown_account"; targets: DeliveryTarget[] };

const Verification = z.object({ verification_token: z.string().min(8).max(512) });

const Envelope = z.object({
  id: z.string().min(1).max(200),
  type: z.string().min(1).max(100),
  timestamp: z.string().nullish(),
  workspace_id: z.string().nullish(),
  integration_id: z.string().nullish(),
  attempt_number: z.number().nullish(),
  authors: z.array(z.object({ id: z.string(), type: z.string() }).passthrough()).nullish(),
  entity: z.object({ id: z.string(), type: z.string() }).passthrough().nullish(),
  data: z.object({
    parent: z.object({
      id: z.string().nullish(),
      type: z.string().nullish(),
      data_source_id: z.string().nullish(),
    }).passthrough().nullish(),
  }).passthrough().nullish(),
}).passthrough();

export type NotionEvent = z.infer<typeof Envelope>;

/** The hex digest of `X-Notion-Signature: sha256=<hex>`; anything else is a 401. */
export function parseSignatureHeader(value: string | null): string {
  if (value === null || value.trim() === "") {
    throw new HttpError(401, "unsigned", "The delivery carries no X-Notion-Signature.");
  }
  const match = /^sha256=([0-9a-f]{64})$/i.exec(value.trim());
  if (!match) {
    throw new HttpError(401, "invalid_signature", "X-Notion-Signature must be sha256=<hex>.");
  }
  return match[1].toLowerCase();
}

/** True when `signature` is the HMAC-SHA256 of the raw body keyed with `token` (constant time). */
export async function signedWith(
  raw: Uint8Array,
  signature: string,
  token: string,
): Promise<boolean> {
  return await timingSafeEqual(signature, await hmacSha256Hex(token, raw));
}

/** The data source and database ids an event names (normalised), never its page's own id. */
export function parentIds(event: NotionEvent): string[] {
  const ids = new Set<string>();
  const entity = event.entity;
  if (entity && (entity.type === "data_source" || entity.type === "database")) ids.add(entity.id);
  const parent = event.data?.parent;
  if (parent?.id) ids.add(parent.id);
  if (parent?.data_source_id) ids.add(parent.data_source_id);
  return [...ids].map(normalizeNotionId);
}

function parseJson(raw: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(raw));
  } catch {
    return undefined;
  }
}

async function storeVerification(context: WebhookContext, token: string): Promise<void> {
  await rpc(context.db, "notion_webhook_store_verification", {
    p_token_sha256: await sha256Hex(token),
    p_token_encrypted: await sealSecret(token, context.config.TOKEN_ENCRYPTION_KEY, TOKEN_CONTEXT),
  });
}

/** The trusted token that signed `raw`, or null. */
async function verifiedBy(
  context: WebhookContext,
  raw: Uint8Array,
  signature: string,
): Promise<string | null> {
  const keys = await rpc<{ id: string; token_encrypted: string }[]>(
    context.db,
    "notion_webhook_verification_keys",
  );
  for (const key of keys) {
    const token = await openSecret(
      key.token_encrypted,
      context.config.TOKEN_ENCRYPTION_KEY,
      TOKEN_CONTEXT,
    ).catch(() => null);
    if (token !== null && await signedWith(raw, signature, token)) return key.id;
  }
  return null;
}

export async function receiveNotionDelivery(
  context: WebhookContext,
  request: Request,
): Promise<NotionDeliveryOutcome> {
  const raw = await readLimitedBody(request, MAX_BODY_BYTES);
  const header = request.headers.get("x-notion-signature");
  const body = parseJson(raw);
  if (header === null) {
    const verification = Verification.safeParse(body);
    if (verification.success && !(body as Record<string, unknown>).type) {
      await storeVerification(context, verification.data.verification_token);
      return { status: "verification_stored" };
    }
  }
  const signature = parseSignatureHeader(header);
  const verificationId = await verifiedBy(context, raw, signature);
  if (verificationId === null) {
    throw new HttpError(401, "invalid_signature", "The signature does not match the body.");
  }
  const event = Envelope.safeParse(body);
  if (!event.success) {
    throw new HttpError(400, "invalid_payload", "The delivery is not a Notion webhook event.");
  }
  const received = await rpc<{
    duplicate: boolean;
    outcome?: "marked" | "unknown_account";
    targets?: { connection_id: string; calendar_id: string; user_id: string; running: boolean }[];
  }>(context.db, "notion_receive_event", {
    p_event_id: event.data.id,
    p_event_type: event.data.type,
    p_payload: body,
    p_workspace_id: event.data.workspace_id ? normalizeNotionId(event.data.workspace_id) : null,
    p_parent_ids: parentIds(event.data),
    p_verification_id: verificationId,
  });
  if (received.duplicate) return { status: "duplicate" };
  return {
    status: received.outcome ?? "unknown_account",
    targets: (received.targets ?? []).map((target) => ({
      connectionId: target.connection_id,
      calendarId: target.calendar_id,
      userId: target.user_id,
      running: target.running,
    })),
  };
}

export interface VerificationToken {
  id: string;
  verification_token: string;
  received_at: string;
  last_received_at: string;
  times_received: number;
}

/** The operator's read: every token not read yet, opened; they verify deliveries from now on. */
export async function readVerificationTokens(
  context: WebhookContext,
): Promise<VerificationToken[]> {
  const rows = await rpc<
    (Omit<VerificationToken, "verification_token"> & { token_encrypted: string })[]
  >(context.db, "notion_webhook_read_verifications");
  const out: VerificationToken[] = [];
  for (const { token_encrypted, ...row } of rows) {
    out.push({
      ...row,
      verification_token: await openSecret(
        token_encrypted,
        context.config.TOKEN_ENCRYPTION_KEY,
        TOKEN_CONTEXT,
      ),
    });
  }
  return out;
}

export function revokeVerificationToken(context: WebhookContext, id: string): Promise<boolean> {
  return rpc<boolean>(context.db, "notion_webhook_revoke_verification", { p_id: id });
}
