// Calendly's webhook subscription for a connection (its push path), under the calendar's
// maintenance claim: one user-scope subscription for invitee.created / invitee.canceled at
// CALENDLY_WEBHOOK_URL, with a random signing key of our own, sealed like the tokens. It is
// recorded (pending) before it is created. A subscription Calendly disabled (after a day of
// failed deliveries) or deleted is found by the backup's check and replaced. On 409 (a
// subscription to this URL exists, e.g. made by hand in Calendly's UI as in the seed) it is
// adopted when the shared key (CALENDLY_WEBHOOK_SIGNING_KEY) can verify it, else replaced.
import { rpc } from "../../db/client.ts";
import { describeError, ProviderApiError } from "../../net/provider_error.ts";
import { randomToken } from "../../security/crypto.ts";
import { sealForConnection } from "../../sync/credentials.ts";
import type { AdapterContext, LiveChannel, MaintenanceWork } from "../../sync/types.ts";
import type { CalendlyClient, CalendlySubscription } from "./client.ts";
import { calendlyClientFor } from "./client_for.ts";
import { calendlySettings } from "./config.ts";

export interface SubscriptionResult {
  uri: string;
  state: "active" | "disabled";
  created: boolean;
}

async function deleteQuietly(client: CalendlyClient, uri: string): Promise<void> {
  try {
    await client.deleteSubscription(uri);
  } catch (error) {
    if (!(error instanceof ProviderApiError && error.kind === "not_found")) throw error;
  }
}

/** Stops (deletes at Calendly) subscriptions that were replaced, and records it. */
async function stopReplaced(
  context: AdapterContext,
  client: CalendlyClient,
  channels: readonly Pick<LiveChannel, "id" | "channel_id">[],
): Promise<void> {
  const stopped: string[] = [];
  for (const channel of channels) {
    try {
      if (channel.channel_id.startsWith("http")) await deleteQuietly(client, channel.channel_id);
      stopped.push(channel.id);
    } catch (error) {
      console.error(`[calendly] could not delete ${channel.channel_id}:`, describeError(error));
    }
  }
  if (stopped.length > 0) {
    await rpc(context.db, "channel_set_status", { p_ids: stopped, p_status: "stopped" });
  }
}

async function createSubscription(
  context: AdapterContext,
  client: CalendlyClient,
  work: MaintenanceWork,
): Promise<SubscriptionResult> {
  const settings = calendlySettings(context.config);
  const organization = String(work.connection.settings.organization ?? "");
  const signingKey = randomToken(32);
  const rowId = await rpc<string>(context.db, "channel_record_pending", {
    p_connection_id: work.target.connectionId,
    p_calendar_id: work.target.calendarId,
    p_maintenance_claim: work.claim,
    p_channel_id: `pending:${crypto.randomUUID()}`,
    p_secret_encrypted: await sealForConnection(context.config, work.connection, signingKey),
  });
  const request = {
    url: settings.webhookUrl,
    organization,
    user: work.connection.external_account_id,
    signingKey,
  };
  let subscription: CalendlySubscription;
  let adopted = false;
  try {
    subscription = await client.createSubscription(request);
  } catch (error) {
    if (!(error instanceof ProviderApiError && error.reason === "already_exists")) {
      await rpc(context.db, "channel_set_status", {
        p_ids: [rowId],
        p_status: "failed",
        p_error: describeError(error).slice(0, 500),
      });
      throw error;
    }
    const existing = (await client.listSubscriptions(organization, request.user))
      .find((candidate) => candidate.callback_url === settings.webhookUrl);
    if (existing && existing.state === "active" && settings.sharedSigningKey) {
      subscription = existing;
      adopted = true;
    } else {
      if (existing) await deleteQuietly(client, existing.uri);
      subscription = await client.createSubscription(request);
    }
  }
  const replaced = await rpc<{ id: string; channel_id: string }[]>(
    context.db,
    "channel_activate",
    {
      p_maintenance_claim: work.claim,
      p_channel_row_id: rowId,
      p_resource_id: null,
      p_resource_uri: subscription.callback_url,
      p_expiration: null,
      p_channel_id: subscription.uri,
      p_adopted: adopted,
    },
  );
  await stopReplaced(context, client, replaced);
  return { uri: subscription.uri, state: subscription.state, created: !adopted };
}

/**
 * Makes sure the connection has one active subscription. With `check`, an existing one is
 * confirmed at Calendly (one request), so a disabled or deleted subscription is replaced.
 */
export async function ensureSubscription(
  context: AdapterContext,
  client: CalendlyClient,
  work: MaintenanceWork,
  options: { check: boolean },
): Promise<SubscriptionResult> {
  const active = work.channels.find((channel) =>
    channel.status === "active" && channel.channel_id.startsWith("http")
  );
  const leftovers = work.channels.filter((channel) => channel !== active);
  if (active && !work.force) {
    if (!options.check) return { uri: active.channel_id, state: "active", created: false };
    try {
      const current = await client.getSubscription(active.channel_id);
      if (current.state === "active") {
        if (leftovers.length > 0) await stopReplaced(context, client, leftovers);
        return { uri: current.uri, state: "active", created: false };
      }
      await rpc(context.db, "channel_set_status", {
        p_ids: [active.id],
        p_status: "disabled",
        p_error: "Calendly disabled the subscription after failed deliveries",
      });
      await deleteQuietly(client, current.uri);
    } catch (error) {
      if (!(error instanceof ProviderApiError && error.kind === "not_found")) throw error;
      await rpc(context.db, "channel_set_status", {
        p_ids: [active.id],
        p_status: "stopped",
        p_error: "the subscription no longer exists at Calendly",
      });
    }
  }
  return await createSubscription(context, client, work);
}

/** Calendly's part of maintenance: the subscription is alive (checked at every backup). */
export async function maintainCalendlyPush(
  context: AdapterContext,
  work: MaintenanceWork,
): Promise<{ renewed: boolean }> {
  const client = calendlyClientFor(context, work.connection);
  const check = work.force ||
    work.reasons.some((reason) => reason === "backup" || reason === "manual");
  const result = await ensureSubscription(context, client, work, { check });
  return { renewed: result.created };
}
