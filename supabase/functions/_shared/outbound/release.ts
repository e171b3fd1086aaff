// The queue's 'revoke_token' items: a disconnected connection (or a deleted user's) is released
// at its provider. The item carries the sealed tokens and the natural key they are bound to
// (the rows may be gone), the channels that were live and what write-back had written; this
// opens them and hands them to the provider's adapter, which removes what was written, stops
// the channels and revokes the grant.
//
// A grant the provider already refuses (invalid_grant) is done: nothing can be stopped with it,
// and the provider drops a revoked grant's channels itself. Other failures are thrown and
// classified by the processor (retried with backoff, or FAILED with the error).
import { z } from "zod";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import { ProviderApiError, ReauthRequiredError } from "../net/provider_error.ts";
import { openForConnection } from "../sync/credentials.ts";
import type {
  AccessRelease,
  AdapterContext,
  ProviderAdapter,
  ReleaseReport,
} from "../sync/types.ts";
import type { OutboundItem, WriteOutcome } from "./types.ts";

const releaseCredential = z.object({
  provider: z.enum(["google", "calendly", "notion"]),
  user_id: z.string().min(1),
  external_account_id: z.string().min(1),
  refresh_token_encrypted: z.string().nullable().optional(),
  access_token_encrypted: z.string().nullable().optional(),
  access_token_expires_at: z.string().nullable().optional(),
});

const releaseTargets = z.object({
  channels: z.array(z.object({
    calendar_id: z.string(),
    channel_id: z.string(),
    resource_id: z.string().nullable().default(null),
    resource_uri: z.string().nullable().default(null),
  })).default([]),
  written: z.array(z.object({ calendar_id: z.string(), external_id: z.string() })).default([]),
  planned_calendar_id: z.string().nullable().default(null),
  settings: z.record(z.string(), z.unknown()).default({}),
});

/** Opens a release item's sealed credential (bound to the connection's natural key). */
export async function openRelease(
  config: Pick<Config, "TOKEN_ENCRYPTION_KEY">,
  clock: Clock,
  item: Pick<OutboundItem, "credential" | "desired">,
): Promise<AccessRelease> {
  const credential = releaseCredential.parse(item.credential);
  const key = {
    provider: credential.provider,
    user_id: credential.user_id,
    external_account_id: credential.external_account_id,
  };
  const open = (sealed: string | null | undefined) =>
    sealed ? openForConnection(config, key, sealed) : Promise.resolve(null);
  const expiresAt = credential.access_token_expires_at
    ? Date.parse(credential.access_token_expires_at)
    : 0;
  const accessToken = expiresAt > clock.now()
    ? await open(credential.access_token_encrypted)
    : null;
  const targets = releaseTargets.parse(item.desired);
  return {
    provider: credential.provider,
    userId: credential.user_id,
    externalAccountId: credential.external_account_id,
    refreshToken: await open(credential.refresh_token_encrypted),
    accessToken: accessToken ? { accessToken, expiresAt } : null,
    channels: targets.channels,
    written: targets.written,
    plannedCalendarId: targets.planned_calendar_id,
    settings: targets.settings,
  };
}

/** A release's report before anything was done; `tokenRevoked` null: nothing to revoke with. */
export function emptyReleaseReport(tokenRevoked: boolean | null = false): ReleaseReport {
  return { writtenRemoved: 0, writtenKept: 0, channelsStopped: 0, channelsGone: 0, tokenRevoked };
}

/**
 * Removes each item write-back wrote with `remove`. One the provider no longer has (404/410)
 * counts as removed; one it refuses for good (403, 400, ...) is left and counted, so the channels
 * are still stopped and the grant still revoked. Transient failures (retried by the processor)
 * and a dead grant (the release is then done) are thrown.
 */
export async function removeWritten<T>(
  items: T[],
  remove: (item: T) => Promise<unknown>,
  report: ReleaseReport,
): Promise<void> {
  for (const item of items) {
    try {
      await remove(item);
      report.writtenRemoved++;
    } catch (error) {
      if (!(error instanceof ProviderApiError) || error instanceof ReauthRequiredError) throw error;
      if (error.kind === "not_found" || error.kind === "gone") report.writtenRemoved++;
      else if (error.kind === "permanent" || error.kind === "precondition_failed") {
        report.writtenKept++;
      } else throw error;
    }
  }
}

const grantOutcome: Record<string, string> = {
  true: "revoked",
  false: "already revoked",
  null: "left to the person (the provider offers no revocation)",
};

/** Applies one release item with its provider's adapter. */
export async function applyRelease(
  context: AdapterContext,
  adapter: ProviderAdapter,
  item: OutboundItem,
): Promise<WriteOutcome> {
  if (!adapter.releaseAccess) {
    return { kind: "done", note: `${adapter.name} holds nothing to release at the provider` };
  }
  const release = await openRelease(context.config, context.clock, item);
  try {
    const report = await adapter.releaseAccess(context, release);
    return {
      kind: "done",
      note: `released: ${report.writtenRemoved} written item(s) removed` +
        (report.writtenKept ? ` (${report.writtenKept} refused by the provider, left)` : "") +
        ", " +
        `${report.channelsStopped} channel(s) stopped, ${report.channelsGone} already gone, ` +
        `grant ${grantOutcome[String(report.tokenRevoked)]}`,
    };
  } catch (error) {
    if (error instanceof ReauthRequiredError) {
      return { kind: "done", note: "the grant was already revoked at the provider" };
    }
    throw error;
  }
}
