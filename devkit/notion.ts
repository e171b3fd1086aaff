// Helpers for the Notion emulator's control API and for connecting a test user's Notion
// database through setup-calendar-webhook, shared by tests, the demo and the benchmarks. The
// control API plays the people: the workspace member who edits pages, and the operator who
// creates the webhook subscription in the integration's settings, reads the verification token
// from notion-webhook (GET, service role) and pastes it back into Notion.
import assert from "node:assert/strict";
import { callEmulatorControl } from "./emulator_control.ts";
import { stack, type TestUser } from "./stack.ts";
import type { ConnectNotionResult } from "../supabase/functions/_shared/providers/notion/connect.ts";

export function notion<T = Record<string, unknown>>(
  path: string,
  body?: unknown,
  method?: string,
): Promise<T> {
  return callEmulatorControl<T>("notion", stack.notionEmulatorUrl, path, body, method);
}

export interface NotionWorkspace {
  /** The internal integration's token (`ntn_…`). */
  token: string;
  integrationId: string;
  bot: string;
  workspaceId: string;
  workspaceName: string;
  databaseId: string;
  dataSourceId: string;
}

/** An internal integration in a new workspace with one shared database (Title, Date, …). */
export async function createNotionWorkspace(label = "team"): Promise<NotionWorkspace> {
  const suffix = crypto.randomUUID().slice(0, 6);
  const integration = await notion<{
    token: string;
    integration_id: string;
    bot_user_id: string;
    workspace_id: string;
    workspace_name: string;
  }>("/integrations", { name: `planner-${suffix}`, workspace_name: `${label}-${suffix}` });
  const database = await notion<{ database_id: string; data_source_id: string }>("/databases", {
    integration: integration.bot_user_id,
    title: `Tasks ${suffix}`,
  });
  return {
    token: integration.token,
    integrationId: integration.integration_id,
    bot: integration.bot_user_id,
    workspaceId: integration.workspace_id,
    workspaceName: integration.workspace_name,
    databaseId: database.database_id,
    dataSourceId: database.data_source_id,
  };
}

/** What setup-calendar-webhook answers for Notion. */
export type NotionSetup = ConnectNotionResult;

/** POST setup-calendar-webhook for the user; returns the answer as it is (status and body). */
export async function setupNotion(
  user: TestUser,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(stack.functionUrl("setup-calendar-webhook"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.jwt}`, "content-type": "application/json" },
    body: JSON.stringify({ provider: "notion", ...body }),
  });
  return { status: response.status, body: await response.json() };
}

/** Connects the workspace's database for the user with its internal token. */
export async function connectNotion(
  user: TestUser,
  ws: NotionWorkspace,
  extra: Record<string, unknown> = {},
): Promise<NotionSetup> {
  const answer = await setupNotion(user, {
    token: ws.token,
    database_id: ws.databaseId,
    ...extra,
  });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body as unknown as NotionSetup;
}

/** The operator's read of the unread verification tokens (GET notion-webhook, service role). */
export async function readVerificationTokens(): Promise<
  { status: number; tokens: { id: string; verification_token: string }[] }
> {
  const response = await fetch(stack.functionUrl("notion-webhook"), {
    headers: { authorization: `Bearer ${stack.serviceRoleKey}` },
  });
  const body = await response.json();
  return { status: response.status, tokens: body.tokens ?? [] };
}

/**
 * What a person does in the integration's settings: create a subscription to notion-webhook
 * (Notion POSTs the verification token to it), read the token from notion-webhook, paste it
 * into Notion (verify). Returns the subscription id and its token.
 */
export async function subscribeWebhooks(
  ws: NotionWorkspace,
): Promise<{ subscriptionId: string; verificationToken: string }> {
  const created = await notion<{
    subscription: { id: string; verification_token: string };
    verification: { outcome: string } | null;
  }>("/webhooks", { integration: ws.integrationId, url: stack.functionUrl("notion-webhook") });
  const { tokens } = await readVerificationTokens();
  const token = tokens.find((t) =>
    t.verification_token === created.subscription.verification_token
  );
  assert.ok(token, "the verification token arrived at notion-webhook and the operator read it");
  await notion(`/webhooks/${created.subscription.id}/verify`, {
    verification_token: token.verification_token,
  });
  return {
    subscriptionId: created.subscription.id,
    verificationToken: token.verification_token,
  };
}

export interface NotionDate {
  start: string;
  end?: string | null;
  time_zone?: string;
}

/** A person adds a row (`date` null: an undated page). Returns the page id. */
export async function addPage(
  ws: NotionWorkspace,
  title: string,
  date: NotionDate | null,
): Promise<string> {
  const page = await notion<{ id: string }>("/pages", {
    data_source_id: ws.dataSourceId,
    properties: { title, ...(date ? { date } : {}) },
  });
  return page.id;
}

/** A person edits a row: properties in the simple shape ({date, title, notes}) and/or trash. */
export function editPage(
  pageId: string,
  change: { properties?: Record<string, unknown>; in_trash?: boolean },
): Promise<{ id: string; last_edited_time: string }> {
  return notion(`/pages/${pageId}`, change, "PATCH");
}

/** The stack's emulator is shared: what a test changed in its configuration is put back. */
export function resetNotionDelivery(): Promise<unknown> {
  return Promise.all([
    notion("/drops", { next: 0, ratio: 0 }),
    notion("/config", { aggregationWindowMs: 0, deliveryDelayMs: 0, reorder: false }),
  ]);
}
