// Integration webhook subscriptions (created and verified through the control API, which plays
// the human in Notion's integration UI) and event emission. A change becomes one envelope per
// matching subscription: verified, not paused, subscribed to the type, and whose integration
// has a connection in the workspace that can see the entity. Envelopes carry ids, never values.
// Invariants: unverified subscriptions receive nothing but the verification POST; changes made
// by an integration's own bot are delivered to it too (authors tell them apart).

import type { Ctx } from "./context.ts";
import { Dispatcher, type Envelope } from "./delivery.ts";
import type { Author } from "./store.ts";
import { toIso } from "./time.ts";
import { randomString, uuid } from "./util.ts";

/** Types the emulator emits. */
export const EMITTED_TYPES = [
  "page.created",
  "page.properties_updated",
  "page.content_updated",
  "page.moved",
  "page.deleted",
  "page.undeleted",
  "data_source.content_updated",
] as const;
export type EventType = (typeof EMITTED_TYPES)[number];

/** Types a subscription may ask for (Notion's list; some are never emitted here). */
export const KNOWN_TYPES = new Set<string>([
  ...EMITTED_TYPES,
  "page.locked",
  "page.unlocked",
  "database.created",
  "database.content_updated",
  "database.schema_updated",
  "database.moved",
  "database.deleted",
  "database.undeleted",
  "data_source.created",
  "data_source.schema_updated",
  "data_source.moved",
  "data_source.deleted",
  "data_source.undeleted",
  "comment.created",
  "comment.updated",
  "comment.deleted",
]);

export interface Subscription {
  id: string;
  integrationId: string;
  url: string;
  /** null = every type. */
  eventTypes: string[] | null;
  apiVersion: string;
  verificationToken: string;
  verified: boolean;
  paused: boolean;
  createdMs: number;
  verifiedMs: number | null;
}

/** A change to report, as mutations describe it. */
export interface Change {
  type: EventType;
  workspaceId: string;
  /** Database whose sharing decides who may hear about the change. */
  databaseId: string;
  entity: { id: string; type: "page" | "data_source" | "database" };
  data: Record<string, unknown>;
  author: Author;
}

export class Webhooks {
  subscriptions = new Map<string, Subscription>();
  dispatcher: Dispatcher;
  #ctx: Ctx;

  constructor(ctx: Ctx) {
    this.#ctx = ctx;
    this.dispatcher = new Dispatcher(ctx, (id) => this.#isActive(id));
  }

  #isActive(id: string): boolean {
    const sub = this.subscriptions.get(id);
    return sub !== undefined && sub.verified && !sub.paused;
  }

  create(integrationId: string, url: string, eventTypes: string[] | null, apiVersion: string) {
    const sub: Subscription = {
      id: uuid(),
      integrationId,
      url,
      eventTypes,
      apiVersion,
      verificationToken: `secret_${randomString(43)}`,
      verified: false,
      paused: false,
      createdMs: this.#ctx.clock.now(),
      verifiedMs: null,
    };
    this.subscriptions.set(sub.id, sub);
    return sub;
  }

  sendVerification(sub: Subscription) {
    return this.dispatcher.sendVerification(sub.id, sub.url, sub.verificationToken);
  }

  describe(sub: Subscription) {
    return {
      id: sub.id,
      integration_id: sub.integrationId,
      url: sub.url,
      event_types: sub.eventTypes,
      api_version: sub.apiVersion,
      verification_token: sub.verificationToken,
      status: !sub.verified ? "pending_verification" : sub.paused ? "paused" : "active",
      verified: sub.verified,
      created_time: toIso(sub.createdMs),
      verified_time: sub.verifiedMs === null ? null : toIso(sub.verifiedMs),
    };
  }

  /** Queue an envelope for every subscription that should hear about the change. */
  emit(change: Change): void {
    const { store, clock } = this.#ctx;
    const db = store.databases.get(change.databaseId);
    const ws = store.workspaces.get(change.workspaceId);
    if (!db || !ws) return;
    for (const sub of this.subscriptions.values()) {
      if (!this.#isActive(sub.id)) continue;
      if (sub.eventTypes !== null && !sub.eventTypes.includes(change.type)) continue;
      const integration = store.integrations.get(sub.integrationId);
      if (!integration) continue;
      const listeners = [...store.connections.values()].filter((c) =>
        c.integrationId === sub.integrationId && store.canAccessDatabase(c, db)
      );
      if (listeners.length === 0) continue;
      const envelope: Envelope = {
        id: uuid(),
        timestamp: toIso(clock.now()),
        workspace_id: ws.id,
        workspace_name: ws.name,
        subscription_id: sub.id,
        integration_id: sub.integrationId,
        authors: [{ ...change.author }],
        attempt_number: 1,
        api_version: sub.apiVersion,
        type: change.type,
        entity: { ...change.entity },
        data: structuredClone(change.data),
      };
      if (integration.kind === "public") {
        envelope.accessible_by = listeners.flatMap((c) => [
          { id: c.ownerUserId, type: "person" },
          { id: c.botUserId, type: "bot" },
        ]);
      }
      this.dispatcher.enqueue({
        subscriptionId: sub.id,
        url: sub.url,
        secret: sub.verificationToken,
        key: `${sub.id}|${change.entity.id}|${change.type}`,
        envelope,
      });
    }
  }

  /** After dispatcher.shutdown(): forget subscriptions and the log. */
  clear(): void {
    this.subscriptions.clear();
    this.dispatcher.clear();
  }
}
