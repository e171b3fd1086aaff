// Connecting a Notion database (setup-calendar-webhook with provider "notion"):
//   1. a token: an internal integration token is used as a long-lived access token with no
//      refresh token (Notion never expires it; a 401 later marks the connection needs_reauth),
//      or an OAuth code is exchanged (JSON body, HTTP Basic client auth) for an access token and
//      a single-use refresh token;
//   2. the integration's bot (GET /v1/users/me): its id is the connection's account, its
//      workspace name the display name;
//   3. the database (it must be shared with the integration) → its data sources; the first one
//      whose schema has the date property (default "Date") as a `date` wins. A missing or
//      non-date property is a 400 that names the date properties there are;
//   4. the connection and its sealed tokens in ONE statement (connection_upsert), settings
//      {auth, database_id, data_source_id, date_property, date_property_id, workspace_id,
//      bot_id, time_zone}; the time zone for all-day pages is the user's planning time zone;
//   5. the data source is followed (one per connection: another one followed before is
//      forgotten) and marked for a FULL read, which runs now (services.syncTarget).
// Nothing is opened at Notion: webhook subscriptions are made by a person in the
// integration's settings (see notion-webhook).
import { functionUrl } from "../../config.ts";
import { rpc } from "../../db/client.ts";
import { HttpError } from "../../http/errors.ts";
import { ProviderApiError, ReauthRequiredError } from "../../net/provider_error.ts";
import { type Services, syncTarget } from "../../services.ts";
import { sealForConnection } from "../../sync/credentials.ts";
import { type TokenGrant, TokenSource } from "../../sync/token_source.ts";
import { NotionClient, type NotionDataSource, notionTokenEndpoint } from "./client.ts";
import { type NotionConnectionSettings, notionSettings } from "./config.ts";
import { normalizeNotionId } from "./mapping.ts";

const TEN_YEARS_MS = 10 * 365 * 86_400_000;

export type NotionCredentialInput =
  | { token: string }
  | { code: string; redirectUri: string };

export interface ConnectNotionInput {
  userId: string;
  credential: NotionCredentialInput;
  databaseId: string;
  /** The date property's name; default "Date". */
  dateProperty?: string;
  /** Write planned blocks into the database as pages (default false). */
  writeBack?: boolean;
}

export interface ConnectNotionResult {
  connection: {
    id: string;
    provider: "notion";
    external_account_id: string;
    display_name: string | null;
    status: string;
  };
  data_source: {
    id: string;
    database_id: string;
    date_property: string;
    date_property_id: string;
    time_zone: string;
    write_back: boolean;
  };
  /** Where to point the integration's webhook subscription. */
  webhook_url: string;
  sync: { full_sync: boolean; new: number; updated: number; deleted: number; pages_total: number };
}

function rejected(error: unknown, code: string, message: string): never {
  if (
    error instanceof ReauthRequiredError ||
    (error instanceof ProviderApiError && error.kind === "unauthorized")
  ) {
    throw new HttpError(400, code, message);
  }
  throw error;
}

/** The first data source whose schema has `name` as a date property. */
async function findDateProperty(
  client: NotionClient,
  dataSourceIds: string[],
  name: string,
): Promise<{ dataSource: NotionDataSource; propertyId: string }> {
  const found: { source: string; dates: string[]; other: string | null }[] = [];
  for (const id of dataSourceIds) {
    const dataSource = await client.retrieveDataSource(id);
    const property = dataSource.properties?.[name];
    if (property?.type === "date") return { dataSource, propertyId: property.id };
    found.push({
      source: id,
      dates: Object.values(dataSource.properties ?? {}).filter((p) => p.type === "date")
        .map((p) => p.name),
      other: property ? property.type : null,
    });
  }
  const other = found.find((f) => f.other !== null)?.other;
  throw new HttpError(
    400,
    "invalid_date_property",
    other
      ? `The property "${name}" is a ${other}, not a date.`
      : `The database has no date property named "${name}".`,
    { date_properties: [...new Set(found.flatMap((f) => f.dates))] },
  );
}

async function userTimeZone(s: Services, userId: string): Promise<string> {
  const { data } = await s.db.from("scheduling_preferences").select("time_zone")
    .eq("user_id", userId).maybeSingle();
  return typeof data?.time_zone === "string" ? data.time_zone : "UTC";
}

export async function connectNotion(
  s: Services,
  input: ConnectNotionInput,
): Promise<ConnectNotionResult> {
  const settings = notionSettings(s.config);
  const endpoint = notionTokenEndpoint(settings, s.clock);
  const dateProperty = input.dateProperty ?? "Date";
  const oauth = "code" in input.credential;
  let grant: TokenGrant & { raw?: Record<string, unknown> };
  if ("code" in input.credential) {
    try {
      grant = await endpoint.exchangeCode(input.credential.code, input.credential.redirectUri);
    } catch (error) {
      rejected(error, "invalid_code", "Notion rejected the authorization code.");
    }
  } else {
    grant = { accessToken: input.credential.token, expiresAt: s.clock.now() + TEN_YEARS_MS };
  }
  let latest: TokenGrant = grant;
  const probe = new NotionClient({
    config: settings,
    clock: s.clock,
    tokens: new TokenSource({
      grant: endpoint.refresh,
      refreshToken: grant.refreshToken,
      initial: grant,
      clock: s.clock,
      onGrant: (next) => {
        latest = next;
      },
    }),
  });

  let bot;
  try {
    bot = await probe.retrieveBotUser();
  } catch (error) {
    rejected(error, "invalid_token", "Notion rejected the token: connect the integration again.");
  }
  const databaseId = normalizeNotionId(input.databaseId);
  let database;
  try {
    database = await probe.retrieveDatabase(databaseId);
  } catch (error) {
    if (error instanceof ProviderApiError && error.kind === "not_found") {
      throw new HttpError(
        404,
        "database_not_found",
        "Notion has no such database, or it is not shared with the integration.",
      );
    }
    throw error;
  }
  const sources = (database.data_sources ?? []).map((source) => source.id);
  if (sources.length === 0) {
    throw new HttpError(400, "no_data_source", "The database has no data source to follow.");
  }
  const { dataSource, propertyId } = await findDateProperty(probe, sources, dateProperty);

  const botId = normalizeNotionId(bot.id);
  const workspaceId = bot.bot?.workspace_id ?? (grant.raw?.workspace_id as string | undefined);
  const workspaceName = bot.bot?.workspace_name ??
    (grant.raw?.workspace_name as string | undefined) ?? null;
  const timeZone = await userTimeZone(s, input.userId);
  const dataSourceId = normalizeNotionId(dataSource.id);
  const connectionSettings: NotionConnectionSettings = {
    auth: oauth ? "oauth" : "internal",
    database_id: normalizeNotionId(database.id),
    data_source_id: dataSourceId,
    date_property: dateProperty,
    date_property_id: propertyId,
    workspace_id: workspaceId ? normalizeNotionId(workspaceId) : null,
    bot_id: botId,
    time_zone: timeZone,
    write_back: input.writeBack ?? false,
  };
  const key = { provider: "notion" as const, user_id: input.userId, external_account_id: botId };
  // A refresh during the probe (a rotation) leaves the newest tokens in `latest` / the source.
  const refreshToken = probe.tokens.refreshToken;
  const stored = await rpc<{ id: string; status: string }>(s.db, "connection_upsert", {
    p_user_id: input.userId,
    p_provider: "notion",
    p_external_account_id: botId,
    p_display_name: workspaceName,
    p_refresh_token_encrypted: refreshToken
      ? await sealForConnection(s.config, key, refreshToken)
      : null,
    p_access_token_encrypted: await sealForConnection(s.config, key, latest.accessToken),
    p_access_token_expires_at: new Date(latest.expiresAt).toISOString(),
    p_scopes: [],
    p_settings: connectionSettings,
  });
  await rpc(s.db, "notion_follow_data_source", {
    p_connection_id: stored.id,
    p_data_source_id: dataSourceId,
    p_time_zone: timeZone,
  });
  const sync = await syncTarget(s, { connectionId: stored.id, calendarId: dataSourceId });
  const { count } = await s.db.from("calendar_events").select("id", { count: "exact", head: true })
    .eq("connection_id", stored.id).eq("calendar_id", dataSourceId);
  return {
    connection: {
      id: stored.id,
      provider: "notion",
      external_account_id: botId,
      display_name: workspaceName,
      status: stored.status,
    },
    data_source: {
      id: dataSourceId,
      database_id: connectionSettings.database_id,
      date_property: dateProperty,
      date_property_id: propertyId,
      time_zone: timeZone,
      write_back: connectionSettings.write_back,
    },
    webhook_url: functionUrl(s.config, "notion-webhook"),
    sync: {
      full_sync: sync.fullSync,
      new: sync.inserted,
      updated: sync.updated,
      deleted: sync.deleted,
      pages_total: count ?? 0,
    },
  };
}
