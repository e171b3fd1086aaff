-- The provider-neutral sync core: connections to provider accounts, the sync state of each
-- watched calendar (cursor, durable "needs sync" mark, claim with a short lease, generation),
-- push channels / webhook subscriptions, the mirror of every provider's dated items, and the
-- log of webhook deliveries. Every step that must be atomic is one SQL function here, callable
-- by the service role only. Providers (Google, Calendly, Notion) are adapters in the Edge
-- Functions; nothing here knows one provider's API, except the Google receiver at the end,
-- which is Google's only extra (header-only push notifications need one lookup and one mark).
--
-- Words used throughout:
--   calendar  a provider's stream of dated items for one connection: a Google calendar id, the
--             Calendly user URI, a Notion data source id;
--   cursor    where the last complete sync ended (Google: sync token; Calendly: the time of the
--             last complete sync; Notion: the last_edited_time watermark); null = full sync;
--   claim     a uuid proving which run holds the calendar; every write checks it;
--   generation bumped by each full sync, so rows a full sync did not see can be told apart.
--
-- Rollback: after 20261130000200's (they call each other: the two go together). Before
-- rolling back 20261130000800 and 20261130000500, disconnect every connection
-- (disconnect-calendar) and let process-outbound-queue drain, so that push channels are stopped
-- and grants revoked at the providers; otherwise Google channels keep calling until they expire
-- (at most 7 days) and Calendly subscriptions stay registered until deleted in Calendly.
--   drop view public.busy_intervals;
--   drop function public.google_receive_notifications, public.channel_set_status,
--     public.channel_activate, public.channel_record_pending, public.maintenance_release,
--     public.maintenance_claim, public.sync_finish, public.sync_store_page,
--     public.mirror_apply_items, public.sync_restart_full, public.sync_extend_lease,
--     public.sync_claim, public.sync_claim_payload, public.sync_mark, public.sync_watch_calendar,
--     public.connection_mark_needs_reauth, public.connection_abort_token_refresh,
--     public.connection_finish_token_refresh, public.connection_begin_token_refresh,
--     public.connection_upsert;
--   drop table public.webhook_deliveries, public.calendar_events,
--     public.calendar_webhook_channels, public.calendar_sync_state, public.calendar_connections;
-- Data lost: every connection with its sealed tokens (users connect again), the mirror of their
-- calendars (a reconnect's full sync rebuilds it), channel records and the delivery log.

-- ---------------------------------------------------------------------------------------------
-- Connections.

create table public.calendar_connections (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  provider text not null check (provider in ('google', 'calendly', 'notion')),
  -- Google: the account's email (its primary calendar id); Calendly: the user URI; Notion: the
  -- bot id of the integration in the user's workspace.
  external_account_id text not null,
  -- What the status page shows: an email, a name or a workspace name.
  display_name text,
  status text not null default 'active' check (status in ('active', 'needs_reauth', 'revoked')),
  sync_enabled boolean not null default true,
  -- Provider-specific, non-secret settings (Calendly organization URI, Notion database, data
  -- source and date property).
  settings jsonb not null default '{}'::jsonb check (jsonb_typeof(settings) = 'object'),
  last_sync_at timestamptz,
  last_error text,
  -- AES-256-GCM ciphertext made by the functions with TOKEN_ENCRYPTION_KEY (the database never
  -- sees the key), bound to (provider, user_id, external_account_id) as associated data.
  refresh_token_encrypted text,
  access_token_encrypted text,
  access_token_expires_at timestamptz,
  -- Token refreshes of one connection are serialised (Calendly and Notion refresh tokens are
  -- single-use): the holder of this claim is the only one calling the token endpoint.
  token_refresh_claim uuid,
  token_refresh_until timestamptz,
  scopes text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, provider, external_account_id)
);
comment on table public.calendar_connections is
  'A user''s link to a provider account. Token columns hold AES-256-GCM ciphertext made by the Edge Functions; they are readable by the service role only.';
create index calendar_connections_user_idx on public.calendar_connections (user_id);
create trigger calendar_connections_set_updated_at
  before update on public.calendar_connections
  for each row execute function public.set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Sync state: one row per watched calendar.

create table public.calendar_sync_state (
  connection_id uuid not null references public.calendar_connections (id) on delete cascade,
  calendar_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  cursor text,
  full_sync_required boolean not null default true,
  -- The durable mark: set by notifications, webhooks, backups and manual refreshes; cleared by
  -- the claim, so a mark set during a run is seen by that run's finish (exactly one follow-up).
  needs_sync boolean not null default true,
  marked_at timestamptz default now(),
  claim_token uuid,
  lease_until timestamptz,
  generation bigint not null default 0,
  time_zone text,
  last_synced_at timestamptz,
  last_full_sync_at timestamptz,
  last_attempt_at timestamptz,
  last_error text,
  consecutive_failures integer not null default 0,
  -- Channel renewal, backup sync and other maintenance of this calendar run under their own
  -- claim, so overlapping maintenance runs (and concurrent setups) never take the same calendar.
  maintenance_claim uuid,
  maintenance_lease_until timestamptz,
  maintenance_failures integer not null default 0,
  maintenance_retry_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (connection_id, calendar_id)
);
create index calendar_sync_state_marked_idx on public.calendar_sync_state (marked_at)
  where needs_sync;
create index calendar_sync_state_user_idx on public.calendar_sync_state (user_id);
create trigger calendar_sync_state_set_updated_at
  before update on public.calendar_sync_state
  for each row execute function public.set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Push channels (Google events.watch) and webhook subscriptions (Calendly), one lifecycle:
-- pending (recorded before it is opened, so nothing opened is ever unknown) → active →
-- stopping (replaced; to be stopped at the provider) → stopped; or expired / failed / disabled.

create table public.calendar_webhook_channels (
  id uuid primary key default gen_random_uuid(),
  provider text not null default 'google' check (provider in ('google', 'calendly', 'notion')),
  connection_id uuid not null references public.calendar_connections (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  calendar_id text not null,
  -- Google: the channel id (a UUID, at most 64 characters); Calendly: the subscription URI.
  channel_id text not null unique check (provider <> 'google' or length(channel_id) <= 64),
  resource_id text,
  resource_uri text,
  -- Google: SHA-256 (hex) of the per-channel secret echoed in X-Goog-Channel-Token.
  token_hash text,
  -- Calendly: the subscription's signing key, AES-256-GCM like the tokens.
  secret_encrypted text,
  expiration timestamptz,
  last_message_number bigint,
  last_notification_at timestamptz,
  status text not null default 'pending'
    check (status in ('pending', 'active', 'stopping', 'stopped', 'expired', 'failed', 'disabled')),
  last_error text,
  stopped_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index calendar_webhook_channels_calendar_idx
  on public.calendar_webhook_channels (connection_id, calendar_id);
create index calendar_webhook_channels_expiration_idx
  on public.calendar_webhook_channels (expiration) where status = 'active';
create trigger calendar_webhook_channels_set_updated_at
  before update on public.calendar_webhook_channels
  for each row execute function public.set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- The mirror: every provider's dated items, one row each. The busy decision is made once, by
-- the provider's classifier, when an item is stored; busy_intervals is a single select over it.

create table public.calendar_events (
  id uuid primary key default gen_random_uuid(),
  provider text not null check (provider in ('google', 'calendly', 'notion')),
  connection_id uuid not null references public.calendar_connections (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  calendar_id text not null,
  external_id text not null,
  summary text,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  all_day boolean not null default false,
  status text not null default 'confirmed' check (status in ('confirmed', 'tentative', 'cancelled')),
  is_busy boolean not null,
  -- Tentative time counts as busy unless the user's tentative_is_busy is false.
  is_tentative boolean not null default false,
  -- The block this item was written for, when this bundle wrote it (write-back); never busy
  -- time for its own user.
  app_tag text,
  app_owned boolean generated always as (app_tag is not null) stored,
  -- The provider's version of the item: an older version never replaces a newer one.
  etag text,
  external_updated_at timestamptz,
  seen_generation bigint not null default 0,
  -- Provider-specific fields (Google: event type, transparency, response status, recurrence;
  -- Calendly: URI, location, invitee counts, cancellation; Notion: page URL, properties).
  -- Merged on update, so a key one path sets (synced_via_webhook) survives another's update.
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (connection_id, calendar_id, external_id),
  check (ends_at >= starts_at)
);
create index calendar_events_user_busy_idx
  on public.calendar_events (user_id, starts_at, ends_at) where is_busy;
create index calendar_events_user_time_idx on public.calendar_events (user_id, starts_at);
create trigger calendar_events_set_updated_at
  before update on public.calendar_events
  for each row execute function public.set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Webhook deliveries (Calendly, Notion): one row per delivery, deduplicated on the provider's
-- key, kept 30 days for audit. Payloads are for the service role only.

create table public.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  provider text not null check (provider in ('google', 'calendly', 'notion')),
  dedupe_key text not null,
  event_type text not null,
  connection_id uuid references public.calendar_connections (id) on delete set null,
  user_id uuid references auth.users (id) on delete cascade,
  payload jsonb not null,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  -- applied | ignored | unknown_account | unknown_event_type | failed
  outcome text,
  error text,
  unique (provider, dedupe_key)
);
create index webhook_deliveries_received_idx on public.webhook_deliveries (received_at);

-- ---------------------------------------------------------------------------------------------
-- Privileges and RLS: users read their own rows (never a token, a secret or a payload); only the
-- service role writes. Supabase grants everything on new public tables to anon/authenticated by
-- default: revoke it all and grant back exactly what users may do.

alter table public.calendar_connections enable row level security;
alter table public.calendar_sync_state enable row level security;
alter table public.calendar_webhook_channels enable row level security;
alter table public.calendar_events enable row level security;
alter table public.webhook_deliveries enable row level security;

revoke all on public.calendar_connections, public.calendar_sync_state,
  public.calendar_webhook_channels, public.calendar_events, public.webhook_deliveries
  from anon, authenticated;
grant all on public.calendar_connections, public.calendar_sync_state,
  public.calendar_webhook_channels, public.calendar_events, public.webhook_deliveries
  to service_role;

grant select (id, user_id, provider, external_account_id, display_name, status, sync_enabled,
  settings, last_sync_at, last_error, access_token_expires_at, scopes, created_at, updated_at)
  on public.calendar_connections to authenticated;
-- A user may pause or resume syncing; everything else is written by the functions.
grant update (sync_enabled) on public.calendar_connections to authenticated;
grant select (connection_id, calendar_id, user_id, needs_sync, full_sync_required, last_synced_at,
  last_full_sync_at, last_error, consecutive_failures, maintenance_failures, time_zone, updated_at)
  on public.calendar_sync_state to authenticated;
-- The channel id is no secret (deliveries are authenticated by the token only its hash of which
-- is stored, or by a signing key).
grant select (id, provider, connection_id, user_id, calendar_id, channel_id, expiration,
  last_notification_at, status, last_error, created_at, updated_at)
  on public.calendar_webhook_channels to authenticated;
grant select on public.calendar_events to authenticated;

create policy "Users read their own connections" on public.calendar_connections
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users update their own connections" on public.calendar_connections
  for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy "Users read their own sync state" on public.calendar_sync_state
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users read their own channels" on public.calendar_webhook_channels
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users read their own events" on public.calendar_events
  for select to authenticated using ((select auth.uid()) = user_id);

-- Busy time from every provider, one shape for the scheduler: a single select (a new provider
-- adds rows, not a branch). security_invoker keeps callers' RLS.
create view public.busy_intervals with (security_invoker = true) as
  select user_id, provider as source, id::text as source_id, starts_at, ends_at, is_tentative
  from public.calendar_events
  where is_busy and not app_owned;
grant select on public.busy_intervals to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Connections: connect, token refresh, re-auth.

-- Connects (or reconnects) a provider account in ONE statement: the connection and its tokens
-- are written together, so no failure can leave an active connection without a token. A user
-- who does not exist is a clear error (P0002 user_not_found), not a foreign-key failure.
create or replace function public.connection_upsert(
  p_user_id uuid,
  p_provider text,
  p_external_account_id text,
  p_display_name text,
  p_refresh_token_encrypted text,
  p_access_token_encrypted text default null,
  p_access_token_expires_at timestamptz default null,
  p_scopes text[] default '{}',
  p_settings jsonb default '{}'::jsonb
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_id uuid;
  v_status text;
  v_settings jsonb;
  v_created boolean;
begin
  if not exists (select 1 from auth.users where id = p_user_id) then
    raise exception 'user % does not exist', p_user_id using errcode = 'P0002',
      hint = 'user_not_found';
  end if;
  insert into public.calendar_connections as c (user_id, provider, external_account_id,
    display_name, status, refresh_token_encrypted, access_token_encrypted,
    access_token_expires_at, scopes, settings)
  values (p_user_id, p_provider, p_external_account_id, p_display_name, 'active',
    p_refresh_token_encrypted, p_access_token_encrypted, p_access_token_expires_at,
    coalesce(p_scopes, '{}'), coalesce(p_settings, '{}'::jsonb))
  on conflict (user_id, provider, external_account_id) do update set
    display_name = coalesce(excluded.display_name, c.display_name),
    status = 'active',
    last_error = null,
    refresh_token_encrypted = coalesce(excluded.refresh_token_encrypted,
      c.refresh_token_encrypted),
    access_token_encrypted = coalesce(excluded.access_token_encrypted, c.access_token_encrypted),
    access_token_expires_at = case when excluded.access_token_encrypted is null
      then c.access_token_expires_at else excluded.access_token_expires_at end,
    scopes = case when cardinality(excluded.scopes) > 0 then excluded.scopes else c.scopes end,
    settings = c.settings || excluded.settings,
    token_refresh_claim = null,
    token_refresh_until = null
  returning c.id, c.status, c.settings, (xmax = 0) into v_id, v_status, v_settings, v_created;
  return jsonb_build_object('id', v_id, 'status', v_status, 'created', v_created,
    'settings', v_settings);
end
$$;

-- Begins a token refresh. Only one caller per connection talks to the token endpoint at a time:
--   {state: 'fresh', access_token_encrypted, access_token_expires_at}: someone refreshed
--     meanwhile, use that token;
--   {state: 'claimed', claim, refresh_token_encrypted}: refresh now, then call
--     connection_finish_token_refresh with the claim (the new refresh token is stored before
--     anyone uses the new access token);
--   {state: 'busy', retry_in_ms}: another caller is refreshing; ask again shortly;
--   {state: 'inactive', status}: the connection needs re-authorisation or was revoked.
-- p_rejected_access_token_encrypted: the access token the provider just rejected (401); it is
-- not "fresh" whatever its stored expiry says.
create or replace function public.connection_begin_token_refresh(
  p_connection_id uuid,
  p_lease_seconds integer default 30,
  p_min_valid_seconds integer default 60,
  p_rejected_access_token_encrypted text default null
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_now timestamptz := public.app_now();
  v_connection public.calendar_connections;
  v_claim uuid;
begin
  select * into v_connection from public.calendar_connections
    where id = p_connection_id for update;
  if not found then
    raise exception 'connection % does not exist', p_connection_id using errcode = 'P0002',
      hint = 'connection_not_found';
  end if;
  if v_connection.status <> 'active' then
    return jsonb_build_object('state', 'inactive', 'status', v_connection.status);
  end if;
  if v_connection.access_token_encrypted is not null
    and v_connection.access_token_expires_at
      > v_now + make_interval(secs => p_min_valid_seconds)
    and v_connection.access_token_encrypted
      is distinct from p_rejected_access_token_encrypted then
    return jsonb_build_object('state', 'fresh',
      'access_token_encrypted', v_connection.access_token_encrypted,
      'access_token_expires_at', v_connection.access_token_expires_at);
  end if;
  if v_connection.token_refresh_claim is not null and v_connection.token_refresh_until > v_now then
    return jsonb_build_object('state', 'busy', 'retry_in_ms', 100);
  end if;
  v_claim := gen_random_uuid();
  update public.calendar_connections
    set token_refresh_claim = v_claim,
        token_refresh_until = v_now + make_interval(secs => p_lease_seconds)
    where id = p_connection_id;
  return jsonb_build_object('state', 'claimed', 'claim', v_claim,
    'refresh_token_encrypted', v_connection.refresh_token_encrypted);
end
$$;

-- Stores the outcome of a successful refresh and releases the claim. The new tokens are stored
-- even if the claim ran out meanwhile: whoever holds a freshly rotated refresh token holds the
-- only one that still works.
create or replace function public.connection_finish_token_refresh(
  p_connection_id uuid,
  p_claim uuid,
  p_access_token_encrypted text,
  p_access_token_expires_at timestamptz,
  p_refresh_token_encrypted text default null
) returns void
language sql volatile set search_path to '' as $$
  update public.calendar_connections
    set access_token_encrypted = p_access_token_encrypted,
        access_token_expires_at = p_access_token_expires_at,
        refresh_token_encrypted = coalesce(p_refresh_token_encrypted, refresh_token_encrypted),
        token_refresh_claim = case when token_refresh_claim = p_claim then null
          else token_refresh_claim end,
        token_refresh_until = case when token_refresh_claim = p_claim then null
          else token_refresh_until end
    where id = p_connection_id
$$;

-- Ends a failed refresh. p_needs_reauth (the provider said invalid_grant) marks the connection;
-- its calendars keep their marks for when the user reconnects.
create or replace function public.connection_abort_token_refresh(
  p_connection_id uuid, p_claim uuid, p_error text, p_needs_reauth boolean
) returns void
language sql volatile set search_path to '' as $$
  update public.calendar_connections
    set token_refresh_claim = null,
        token_refresh_until = null,
        last_error = p_error,
        status = case when p_needs_reauth and status = 'active' then 'needs_reauth' else status end
    where id = p_connection_id and token_refresh_claim is not distinct from p_claim
$$;

create or replace function public.connection_mark_needs_reauth(
  p_connection_id uuid, p_reason text
) returns void
language sql volatile set search_path to '' as $$
  update public.calendar_connections
    set status = 'needs_reauth', last_error = p_reason
    where id = p_connection_id and status = 'active'
$$;

-- ---------------------------------------------------------------------------------------------
-- The durable mark, the claim, the lease, storing, finishing.

-- Registers a watched calendar (or updates its time zone) and marks it for a sync.
create or replace function public.sync_watch_calendar(
  p_connection_id uuid, p_calendar_id text, p_time_zone text default null
) returns void
language sql volatile set search_path to '' as $$
  insert into public.calendar_sync_state as s (connection_id, calendar_id, user_id, time_zone,
    needs_sync, marked_at)
  select c.id, p_calendar_id, c.user_id, p_time_zone, true, public.app_now()
  from public.calendar_connections c where c.id = p_connection_id
  on conflict (connection_id, calendar_id) do update set
    time_zone = coalesce(excluded.time_zone, s.time_zone),
    needs_sync = true,
    marked_at = coalesce(case when s.needs_sync then s.marked_at end, excluded.marked_at)
$$;

-- Marks calendars as needing a sync: one (p_calendar_id) or every calendar of the connection.
-- Returns the marked calendars with whether a sync is running on each (a running sync does the
-- follow-up itself). p_full also asks for a full sync.
create or replace function public.sync_mark(
  p_connection_id uuid, p_calendar_id text default null, p_full boolean default false
) returns jsonb
-- plpgsql, not sql: its plan is cached for the session (a sql function with a data-modifying
-- CTE is planned again on every call, ~5x its cost; every notification calls it).
language plpgsql volatile set search_path to '' as $$
declare
  v_now timestamptz := public.app_now();
  v_marks jsonb;
begin
  -- A calendar already marked is not written again: a burst of notifications for one calendar
  -- takes the row lock once, not once per notification (the claim clears the mark in its own
  -- transaction, so a notification that finds it still set is covered by the run to come).
  with targeted as (
    select s.calendar_id, s.needs_sync and (s.full_sync_required or not p_full) as already,
      s.claim_token is not null and s.lease_until > v_now as running,
      greatest(0, extract(epoch from s.lease_until - v_now) * 1000)::bigint
        as lease_remaining_ms
    from public.calendar_sync_state s
    where s.connection_id = p_connection_id
      and (p_calendar_id is null or s.calendar_id = p_calendar_id)
  ),
  -- Runs to completion although the answer does not read it (marking leaves the claim alone,
  -- so `targeted` already says whether a run holds each calendar).
  marked as (
    update public.calendar_sync_state s
      set needs_sync = true,
          marked_at = coalesce(case when s.needs_sync then s.marked_at end, v_now),
          full_sync_required = s.full_sync_required or p_full
      from targeted t
      where s.connection_id = p_connection_id and s.calendar_id = t.calendar_id
        and not t.already
      returning 1)
  select coalesce(jsonb_agg(jsonb_build_object('connection_id', p_connection_id,
    'calendar_id', calendar_id, 'running', running,
    'lease_remaining_ms', case when running then lease_remaining_ms end)
    order by calendar_id), '[]'::jsonb)
    into v_marks
    from targeted;
  return v_marks;
end
$$;

-- What a sync run needs to start, as one jsonb: the claim and everything else it needs (the
-- connection and its token ciphertexts, the cursor, the generation, the time zone), so a run
-- costs no second read.
create or replace function public.sync_claim_payload(
  p_state public.calendar_sync_state, p_connection public.calendar_connections
) returns jsonb
language sql stable set search_path to '' as $$
  select jsonb_build_object(
    'claimed', true,
    'claim', p_state.claim_token,
    'lease_until', p_state.lease_until,
    'cursor', case when p_state.full_sync_required then null else p_state.cursor end,
    'full_sync', p_state.full_sync_required or p_state.cursor is null,
    'generation', p_state.generation,
    'time_zone', p_state.time_zone,
    'last_synced_at', p_state.last_synced_at,
    'connection', jsonb_build_object(
      'id', p_connection.id, 'user_id', p_connection.user_id,
      'provider', p_connection.provider,
      'external_account_id', p_connection.external_account_id,
      'settings', p_connection.settings,
      'refresh_token_encrypted', p_connection.refresh_token_encrypted,
      'access_token_encrypted', p_connection.access_token_encrypted,
      'access_token_expires_at', p_connection.access_token_expires_at))
$$;

-- Takes the calendar's sync if it is marked, its connection is active and no live claim holds
-- it (a claim whose lease ran out is taken over: a crashed sync blocks nothing for longer than
-- its lease, and its unfinished work counts as a mark). Clearing the mark here means a mark set
-- during the run is seen by its finish.
-- Returns {claimed: false, reason} when not taken.
create or replace function public.sync_claim(
  p_connection_id uuid, p_calendar_id text, p_lease_seconds integer default 15
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_now timestamptz := public.app_now();
  v_state public.calendar_sync_state;
  v_connection public.calendar_connections;
begin
  select * into v_connection from public.calendar_connections where id = p_connection_id;
  if not found then
    return jsonb_build_object('claimed', false, 'reason', 'missing');
  end if;
  if v_connection.status <> 'active' or not v_connection.sync_enabled then
    return jsonb_build_object('claimed', false, 'reason', 'inactive');
  end if;
  update public.calendar_sync_state
    set claim_token = gen_random_uuid(),
        lease_until = v_now + make_interval(secs => p_lease_seconds),
        needs_sync = false,
        marked_at = null,
        last_attempt_at = v_now,
        generation = case when full_sync_required or cursor is null
          then generation + 1 else generation end
    where connection_id = p_connection_id and calendar_id = p_calendar_id
      and (needs_sync or (claim_token is not null and lease_until < v_now))
      and (claim_token is null or lease_until is null or lease_until < v_now)
    returning * into v_state;
  if not found then
    select * into v_state from public.calendar_sync_state
      where connection_id = p_connection_id and calendar_id = p_calendar_id;
    return jsonb_build_object('claimed', false, 'reason', case
      when not found then 'missing'
      when v_state.claim_token is not null and v_state.lease_until >= v_now then 'running'
      else 'not_marked' end);
  end if;
  return public.sync_claim_payload(v_state, v_connection);
end
$$;

-- Keeps a claim alive while its run makes progress. False: the claim is no longer ours.
create or replace function public.sync_extend_lease(
  p_connection_id uuid, p_calendar_id text, p_claim uuid, p_lease_seconds integer default 15
) returns boolean
language sql volatile set search_path to '' as $$
  with extended as (
    update public.calendar_sync_state
      set lease_until = public.app_now() + make_interval(secs => p_lease_seconds)
      where connection_id = p_connection_id and calendar_id = p_calendar_id
        and claim_token = p_claim
      returning 1)
  select exists (select 1 from extended)
$$;

-- The provider said the cursor is no longer valid (Google 410 fullSyncRequired): forget it and
-- start a new generation under the same claim. The mirror stays as it is until the full sync
-- completes; then what it did not see goes. Null: the claim is no longer ours.
create or replace function public.sync_restart_full(
  p_connection_id uuid, p_calendar_id text, p_claim uuid
) returns bigint
language sql volatile set search_path to '' as $$
  update public.calendar_sync_state
    set cursor = null, full_sync_required = true, generation = generation + 1
    where connection_id = p_connection_id and calendar_id = p_calendar_id
      and claim_token = p_claim
    returning generation
$$;

-- Upserts mirror items of one calendar (used by every store path: sync pages and webhook
-- deliveries). An item replaces the stored row only if it is not older (by the provider's
-- updated time) and differs (etag); either way it is marked as seen by p_generation. Returns
-- how many rows were new, how many changed, and whether any busy time changed.
create or replace function public.mirror_apply_items(
  p_connection_id uuid,
  p_calendar_id text,
  p_generation bigint,
  p_items jsonb
) returns table (inserted integer, updated integer, busy_changed boolean)
language plpgsql volatile set search_path to '' as $$
declare
  v_connection public.calendar_connections;
begin
  select * into v_connection from public.calendar_connections where id = p_connection_id;
  return query
  with incoming as (
    select distinct on (x.external_id) x.*
    from jsonb_to_recordset(coalesce(p_items, '[]'::jsonb)) as x(
      external_id text, summary text, starts_at timestamptz, ends_at timestamptz,
      all_day boolean, status text, is_busy boolean, is_tentative boolean, app_tag text,
      etag text, external_updated_at timestamptz, details jsonb)
    order by x.external_id, x.external_updated_at desc nulls last
  ),
  compared as (
    select i.*, e.id as existing_id,
      (e.id is null
        or ((i.external_updated_at is null or e.external_updated_at is null
            or i.external_updated_at >= e.external_updated_at)
          and (i.etag is distinct from e.etag or e.etag is null))) as newer,
      (i.is_busy or coalesce(e.is_busy, false))
        and (e.id is null or e.starts_at <> i.starts_at or e.ends_at <> i.ends_at
          or e.is_busy <> i.is_busy or e.is_tentative <> coalesce(i.is_tentative, false))
        as changes_busy
    from incoming i
    left join public.calendar_events e
      on e.connection_id = p_connection_id and e.calendar_id = p_calendar_id
      and e.external_id = i.external_id
  ),
  written as (
    insert into public.calendar_events as e (provider, connection_id, user_id, calendar_id,
      external_id, summary, starts_at, ends_at, all_day, status, is_busy, is_tentative, app_tag,
      etag, external_updated_at, seen_generation, details)
    select v_connection.provider, p_connection_id, v_connection.user_id, p_calendar_id,
      c.external_id, c.summary, c.starts_at, c.ends_at, coalesce(c.all_day, false),
      coalesce(c.status, 'confirmed'), c.is_busy, coalesce(c.is_tentative, false), c.app_tag,
      c.etag, c.external_updated_at, p_generation, coalesce(c.details, '{}'::jsonb)
    from compared c where c.newer
    on conflict (connection_id, calendar_id, external_id) do update set
      summary = excluded.summary, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
      all_day = excluded.all_day, status = excluded.status, is_busy = excluded.is_busy,
      is_tentative = excluded.is_tentative, app_tag = excluded.app_tag, etag = excluded.etag,
      external_updated_at = excluded.external_updated_at,
      seen_generation = greatest(e.seen_generation, excluded.seen_generation),
      details = e.details || excluded.details
    returning (xmax = 0) as is_insert
  ),
  seen as (
    -- Older or identical versions: only remembered as seen by this generation.
    update public.calendar_events e set seen_generation = p_generation
      from compared c
      where not c.newer and e.id = c.existing_id and e.seen_generation < p_generation
      returning 1
  )
  -- Data-modifying CTEs run to completion whether or not they are read (`seen` is not).
  select (select count(*)::integer from written where is_insert),
    (select count(*)::integer from written where not is_insert),
    coalesce((select bool_or(c.changes_busy and c.newer) from compared c), false);
end
$$;

-- Stores one page of changes under the caller's claim, in one transaction:
--   - mirror items upserted (mirror_apply_items), removed ids deleted;
--   - on the last page (p_next_cursor set): after a full sync, rows of this calendar that the
--     full sync did not see (inside p_window_from..p_window_to when given) are deleted
--     (p_unseen = 'delete') or cancelled (p_unseen = 'cancel'); the cursor moves; the claim is
--     released, and if the calendar was marked meanwhile it is claimed again at once and the new
--     claim returned as follow_up (exactly one follow-up, no extra round trip);
--   - otherwise the lease is extended;
--   - if busy time changed, the user's schedule is marked as needing a plan in this same
--     transaction (nothing that changed busy time can be forgotten);
--   - events this bundle wrote (write-back) are reconciled: our echo changes nothing, a
--     person's edit of one of them is applied to the plan.
-- A caller whose claim (or generation) is no longer current stores nothing: {status: 'lost'}.
create or replace function public.sync_store_page(
  p_connection_id uuid,
  p_calendar_id text,
  p_claim uuid,
  p_generation bigint,
  p_items jsonb,
  p_removed_ids text[],
  p_is_full boolean,
  p_next_cursor text default null,
  p_time_zone text default null,
  p_unseen text default 'delete',
  p_window_from timestamptz default null,
  p_window_to timestamptz default null,
  p_lease_seconds integer default 15
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_now timestamptz := public.app_now();
  v_state public.calendar_sync_state;
  v_connection public.calendar_connections;
  v_inserted integer := 0;
  v_updated integer := 0;
  v_swept integer := 0;
  v_busy_changed boolean := false;
  v_deleted integer := 0;
  v_removed_busy boolean := false;
  v_follow_up jsonb;
begin
  select * into v_state from public.calendar_sync_state
    where connection_id = p_connection_id and calendar_id = p_calendar_id
    for update;
  if not found or v_state.claim_token is distinct from p_claim
    or v_state.generation <> p_generation then
    return jsonb_build_object('status', 'lost');
  end if;

  select m.inserted, m.updated, m.busy_changed into v_inserted, v_updated, v_busy_changed
    from public.mirror_apply_items(p_connection_id, p_calendar_id, p_generation, p_items) m;

  with gone as (
    delete from public.calendar_events
    where connection_id = p_connection_id and calendar_id = p_calendar_id
      and external_id = any (coalesce(p_removed_ids, '{}'))
    returning is_busy)
  select count(*), coalesce(bool_or(is_busy), false) into v_deleted, v_removed_busy from gone;
  v_busy_changed := v_busy_changed or v_removed_busy;

  -- Our own written-back events coming back: echo, or a person's edit (write_back.sql), which
  -- changes the plan's inputs as busy time does.
  if public.write_back_reconcile(p_connection_id, p_calendar_id, p_items, p_removed_ids) > 0 then
    v_busy_changed := true;
  end if;

  if p_next_cursor is null then
    update public.calendar_sync_state
      set lease_until = v_now + make_interval(secs => p_lease_seconds)
      where connection_id = p_connection_id and calendar_id = p_calendar_id;
  else
    if p_is_full then
      if p_unseen = 'cancel' then
        with vanished as (
          select id, is_busy from public.calendar_events
            where connection_id = p_connection_id and calendar_id = p_calendar_id
              and seen_generation < p_generation and status <> 'cancelled'
              and (p_window_from is null or starts_at >= p_window_from)
              and (p_window_to is null or starts_at < p_window_to)
            for update),
        cancelled as (
          update public.calendar_events e
            set status = 'cancelled', is_busy = false, seen_generation = p_generation
            from vanished v where e.id = v.id
            returning v.is_busy)
        select count(*), v_busy_changed or coalesce(bool_or(is_busy), false)
          into v_swept, v_busy_changed from cancelled;
      else
        with stale as (
          delete from public.calendar_events
            where connection_id = p_connection_id and calendar_id = p_calendar_id
              and seen_generation < p_generation
              and (p_window_from is null or starts_at >= p_window_from)
              and (p_window_to is null or starts_at < p_window_to)
            returning is_busy)
        select count(*), v_busy_changed or coalesce(bool_or(is_busy), false)
          into v_swept, v_busy_changed from stale;
      end if;
    end if;
    update public.calendar_sync_state
      set cursor = p_next_cursor,
          full_sync_required = false,
          time_zone = coalesce(p_time_zone, time_zone),
          last_synced_at = v_now,
          last_full_sync_at = case when p_is_full then v_now else last_full_sync_at end,
          last_error = null,
          consecutive_failures = 0,
          claim_token = null,
          lease_until = null
      where connection_id = p_connection_id and calendar_id = p_calendar_id
      returning * into v_state;
    update public.calendar_connections set last_sync_at = v_now, last_error = null
      where id = p_connection_id
      returning * into v_connection;
    -- Marked during the run: claim again now (exactly one follow-up however many arrived).
    if v_state.needs_sync and v_connection.status = 'active' and v_connection.sync_enabled then
      update public.calendar_sync_state
        set claim_token = gen_random_uuid(),
            lease_until = v_now + make_interval(secs => p_lease_seconds),
            needs_sync = false,
            marked_at = null,
            last_attempt_at = v_now,
            generation = case when full_sync_required then generation + 1 else generation end
        where connection_id = p_connection_id and calendar_id = p_calendar_id
        returning * into v_state;
      v_follow_up := public.sync_claim_payload(v_state, v_connection);
    end if;
  end if;

  if v_busy_changed then
    perform public.schedule_mark_plan_needed(v_state.user_id);
  end if;

  return jsonb_build_object('status', 'stored', 'inserted', v_inserted, 'updated', v_updated,
    'upserted', v_inserted + v_updated, 'deleted', v_deleted + v_swept, 'swept', v_swept,
    'busy_changed', v_busy_changed, 'finished', p_next_cursor is not null,
    'follow_up', v_follow_up);
end
$$;

-- Ends a claimed run without a last page: after a failure (p_error; the calendar stays marked
-- so the next notification, backup or sweep converges) or a follow-up deferred to the next
-- trigger (p_remark). Only the holder of the claim can finish it; {finished: false} otherwise.
create or replace function public.sync_finish(
  p_connection_id uuid, p_calendar_id text, p_claim uuid, p_error text default null,
  p_remark boolean default false
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_state public.calendar_sync_state;
begin
  update public.calendar_sync_state
    set claim_token = null,
        lease_until = null,
        last_error = p_error,
        consecutive_failures = case when p_error is null then 0 else consecutive_failures + 1 end,
        -- A failed run must run again: nothing it was asked to pick up may be lost.
        needs_sync = needs_sync or p_error is not null or p_remark,
        marked_at = case when needs_sync or p_error is not null or p_remark
          then coalesce(marked_at, public.app_now()) end
    where connection_id = p_connection_id and calendar_id = p_calendar_id
      and claim_token = p_claim
    returning * into v_state;
  if not found then
    return jsonb_build_object('finished', false, 'needs_sync', false);
  end if;
  if p_error is not null then
    update public.calendar_connections set last_error = p_error where id = p_connection_id;
  end if;
  return jsonb_build_object('finished', true, 'needs_sync', v_state.needs_sync);
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Maintenance claims (channel renewal, backup sync, subscription repair) of one calendar.

-- Takes the calendar's maintenance claim. Returns {claimed, claim?, now, channels: [live
-- channels]}; `now` is the database's clock, so every due-ness decision follows one clock.
-- Concurrent setups, manual refreshes and cron batches all go through it, so one calendar never
-- gets two renewals at once.
create or replace function public.maintenance_claim(
  p_connection_id uuid, p_calendar_id text, p_lease_seconds integer default 60
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_now timestamptz := public.app_now();
  v_claim uuid := gen_random_uuid();
  v_claimed boolean;
begin
  update public.calendar_sync_state
    set maintenance_claim = v_claim,
        maintenance_lease_until = v_now + make_interval(secs => p_lease_seconds)
    where connection_id = p_connection_id and calendar_id = p_calendar_id
      and (maintenance_claim is null or maintenance_lease_until < v_now);
  v_claimed := found;
  return jsonb_build_object('claimed', v_claimed,
    'claim', case when v_claimed then v_claim end,
    'now', v_now,
    'channels', coalesce((
      select jsonb_agg(jsonb_build_object('id', ch.id, 'channel_id', ch.channel_id,
        'resource_id', ch.resource_id, 'expiration', ch.expiration, 'status', ch.status)
        order by ch.expiration desc nulls last)
      from public.calendar_webhook_channels ch
      where ch.connection_id = p_connection_id and ch.calendar_id = p_calendar_id
        and ch.status in ('pending', 'active', 'stopping')), '[]'::jsonb));
end
$$;

-- Releases a maintenance claim, recording the outcome: a failure backs off (capped
-- exponential, 1 min · 2^n up to 1 h) and shows in health; success resets the count.
create or replace function public.maintenance_release(
  p_connection_id uuid, p_calendar_id text, p_claim uuid, p_error text default null
) returns void
language sql volatile set search_path to '' as $$
  update public.calendar_sync_state
    set maintenance_claim = null,
        maintenance_lease_until = null,
        maintenance_failures = case when p_error is null then 0 else maintenance_failures + 1 end,
        maintenance_retry_at = case when p_error is null then null
          else public.app_now() + least(interval '1 hour',
            interval '1 minute' * power(2, least(maintenance_failures, 10))) end,
        last_error = coalesce(p_error, last_error)
    where connection_id = p_connection_id and calendar_id = p_calendar_id
      and maintenance_claim = p_claim
$$;

-- ---------------------------------------------------------------------------------------------
-- Channels: recorded before they are opened, activated with the provider's answer (the channels
-- they replace become 'stopping' in the same transaction), then stopped.

create or replace function public.channel_record_pending(
  p_connection_id uuid,
  p_calendar_id text,
  p_maintenance_claim uuid,
  p_channel_id text,
  p_token_hash text default null,
  p_secret_encrypted text default null
) returns uuid
language plpgsql volatile set search_path to '' as $$
declare
  v_state public.calendar_sync_state;
  v_provider text;
  v_id uuid;
begin
  select * into v_state from public.calendar_sync_state
    where connection_id = p_connection_id and calendar_id = p_calendar_id
      and maintenance_claim = p_maintenance_claim
    for update;
  if not found then
    raise exception 'maintenance claim of % / % is not held', p_connection_id, p_calendar_id
      using errcode = '55000', hint = 'maintenance_claim_lost';
  end if;
  select provider into v_provider from public.calendar_connections where id = p_connection_id;
  insert into public.calendar_webhook_channels (provider, connection_id, user_id, calendar_id,
    channel_id, token_hash, secret_encrypted, status)
  values (v_provider, p_connection_id, v_state.user_id, p_calendar_id, p_channel_id,
    p_token_hash, p_secret_encrypted, 'pending')
  returning id into v_id;
  return v_id;
end
$$;

-- The provider accepted the channel: it becomes the calendar's active channel, and every other
-- live channel of the calendar becomes 'stopping'. Returns those to stop at the provider.
-- p_channel_id: the provider's id when it is known only now (a Calendly subscription URI);
-- p_adopted: an existing subscription was adopted, whose signing key is not ours (the shared
-- key verifies its deliveries), so the pending row's key is dropped.
-- Only while the maintenance claim that recorded the channel still holds the calendar and the
-- channel is still pending: a worker whose lease ran out while it waited on the provider may
-- find that another run took the calendar over, opened a channel of its own and stopped this
-- one; activating it then would record as live a channel nothing is delivered on, and replace
-- (and stop) the one that is. Raises 55000 (hint maintenance_claim_lost); the caller stops its
-- channel at the provider instead.
create or replace function public.channel_activate(
  p_maintenance_claim uuid,
  p_channel_row_id uuid,
  p_resource_id text,
  p_resource_uri text,
  p_expiration timestamptz,
  p_channel_id text default null,
  p_adopted boolean default false
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_channel public.calendar_webhook_channels;
  v_replaced jsonb;
begin
  -- The calendar's row is locked: a takeover that comes later waits and then finds this channel
  -- active (and keeps it); one that came first has changed the claim.
  perform 1 from public.calendar_webhook_channels ch
    join public.calendar_sync_state s
      on s.connection_id = ch.connection_id and s.calendar_id = ch.calendar_id
    where ch.id = p_channel_row_id and ch.status = 'pending'
      and s.maintenance_claim = p_maintenance_claim
    for update of s;
  if not found then
    raise exception 'channel % is no longer pending under maintenance claim %',
      p_channel_row_id, p_maintenance_claim using errcode = '55000',
      hint = 'maintenance_claim_lost';
  end if;
  -- An earlier row for the same provider id (a subscription adopted again) is history now.
  delete from public.calendar_webhook_channels
    where channel_id = p_channel_id and id <> p_channel_row_id;
  update public.calendar_webhook_channels
    set status = 'active', resource_id = p_resource_id, resource_uri = p_resource_uri,
        expiration = p_expiration, channel_id = coalesce(p_channel_id, channel_id),
        secret_encrypted = case when p_adopted then null else secret_encrypted end,
        last_error = null
    where id = p_channel_row_id
    returning * into v_channel;
  if not found then
    raise exception 'channel % does not exist', p_channel_row_id using errcode = 'P0002';
  end if;
  with replaced as (
    update public.calendar_webhook_channels
      set status = 'stopping'
      where connection_id = v_channel.connection_id and calendar_id = v_channel.calendar_id
        and id <> v_channel.id and status in ('pending', 'active')
      returning id, channel_id, resource_id)
  select coalesce(jsonb_agg(jsonb_build_object('id', id, 'channel_id', channel_id,
    'resource_id', resource_id)), '[]'::jsonb) into v_replaced from replaced;
  return v_replaced;
end
$$;

-- Records channels' final states: stopped at the provider, failed to open, expired, disabled.
create or replace function public.channel_set_status(
  p_ids uuid[], p_status text, p_error text default null
) returns void
language sql volatile set search_path to '' as $$
  update public.calendar_webhook_channels
    set status = p_status,
        last_error = coalesce(p_error, last_error),
        stopped_at = case when p_status in ('stopped', 'expired', 'failed')
          then coalesce(stopped_at, public.app_now()) else stopped_at end
    where id = any (p_ids)
$$;

-- ---------------------------------------------------------------------------------------------
-- Google's extra: receiving push notifications in ONE round trip. Google sends headers only; the
-- function hashes each presented channel token and passes every notification it holds at once
-- (a burst shares one call) as a JSON array of {channel_id, token_sha256, resource_id,
-- resource_state, message_number}. Each gets its answer at its own position:
--   unknown_channel   no such channel (Google keeps sending for a while after stop): 2xx, nothing
--                     written;
--   forged            the token's hash does not match: 401, nothing written;
--   resource_mismatch the resource id does not match the channel: 401, nothing written;
--   inactive          a replaced, stopped or expired channel: 2xx, nothing written;
--   acknowledged      the `sync` message after a watch: 2xx; a pending channel learns its
--                     resource id from it (so even a setup that died before storing the watch
--                     answer leaves a channel that can be stopped);
--   marked            the calendar is marked as needing a sync; sync_running says whether a
--                     running sync will do the follow-up itself.
-- The work is set-based: one lookup for the whole batch, each channel row written at most once
-- and each calendar marked once however many of its notifications the batch holds. Rows are
-- locked in a fixed order (channels by id, then calendars), so concurrent batches never
-- deadlock. A malformed batch fails as a whole (a 5xx Google retries).
-- Comparing SHA-256 digests is safe in SQL: timing reveals nothing about the secret itself.
create or replace function public.google_receive_notifications(p_notifications jsonb)
returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_now timestamptz := public.app_now();
  v_judged jsonb;
  v_heard record;
  v_marks jsonb;
begin
  if jsonb_typeof(p_notifications) is distinct from 'array' then
    raise exception 'notifications must be a JSON array' using errcode = '22023';
  end if;
  select coalesce(jsonb_agg(jsonb_build_object('position', n.position, 'outcome',
      case
        when c.id is null then 'unknown_channel'
        when c.token_hash is distinct from n.value ->> 'token_sha256' then 'forged'
        when c.resource_id is not null and c.resource_id <> n.value ->> 'resource_id'
          then 'resource_mismatch'
        when c.status not in ('active', 'pending') then 'inactive'
        when n.value ->> 'resource_state' = 'sync' then 'acknowledged'
        else 'marked'
      end,
      'channel', c.id, 'connection_id', c.connection_id, 'calendar_id', c.calendar_id,
      'resource_id', n.value ->> 'resource_id',
      'message_number', (n.value ->> 'message_number')::bigint) order by n.position), '[]')
    into v_judged
    from jsonb_array_elements(p_notifications) with ordinality as n(value, position)
    -- One index lookup per notification: LIMIT keeps the planner from flattening this into a
    -- join that hashes every channel (channel_id is unique).
    left join lateral (
      select * from public.calendar_webhook_channels c
      where c.channel_id = n.value ->> 'channel_id' and c.provider = 'google'
      limit 1
    ) c on true;

  -- The channel rows, each once and in id order (one update by primary key each): a pending
  -- channel learns its resource id; what health shows (the last notification) is kept to the
  -- second, so a burst writes a channel about once a second.
  for v_heard in
    select (j ->> 'channel')::uuid as id, bool_or(j ->> 'outcome' = 'marked') as marked,
      max((j ->> 'message_number')::bigint) filter (where j ->> 'outcome' = 'marked')
        as message_number,
      min(j ->> 'resource_id') as resource_id
    from jsonb_array_elements(v_judged) j
    where j ->> 'outcome' in ('marked', 'acknowledged')
    group by 1
    order by 1
  loop
    update public.calendar_webhook_channels c
      set resource_id = coalesce(c.resource_id, v_heard.resource_id),
          last_message_number = case when v_heard.marked
            then greatest(coalesce(c.last_message_number, 0), v_heard.message_number)
            else c.last_message_number end,
          last_notification_at = case when v_heard.marked then v_now
            else c.last_notification_at end
      where c.id = v_heard.id
        and (c.resource_id is null or (v_heard.marked and (c.last_notification_at is null
          or c.last_notification_at < v_now - interval '1 second')));
  end loop;

  -- Each calendar once, in a fixed order.
  select coalesce(jsonb_object_agg(t.connection_id || '/' || t.calendar_id,
      public.sync_mark(t.connection_id, t.calendar_id) -> 0), '{}')
    into v_marks
    from (select distinct (j ->> 'connection_id')::uuid as connection_id,
            j ->> 'calendar_id' as calendar_id
          from jsonb_array_elements(v_judged) j
          where j ->> 'outcome' = 'marked'
          order by 1, 2) t;

  return (select coalesce(jsonb_agg(
      case when j ->> 'outcome' = 'marked' then jsonb_build_object('outcome', 'marked',
        'connection_id', j -> 'connection_id', 'calendar_id', j -> 'calendar_id',
        'sync_running', coalesce((m ->> 'running')::boolean, false),
        'lease_remaining_ms', (m ->> 'lease_remaining_ms')::bigint)
      else jsonb_build_object('outcome', j -> 'outcome') end
      order by (j ->> 'position')::bigint), '[]')
    from jsonb_array_elements(v_judged) j
    left join lateral (select v_marks -> ((j ->> 'connection_id') || '/' || (j ->> 'calendar_id'))
      as m) marks on true);
end
$$;

-- ---------------------------------------------------------------------------------------------

select public.restrict_to_service_role(
  'public.connection_upsert(uuid, text, text, text, text, text, timestamptz, text[], jsonb)',
  'public.connection_begin_token_refresh(uuid, integer, integer, text)',
  'public.connection_finish_token_refresh(uuid, uuid, text, timestamptz, text)',
  'public.connection_abort_token_refresh(uuid, uuid, text, boolean)',
  'public.connection_mark_needs_reauth(uuid, text)',
  'public.sync_watch_calendar(uuid, text, text)',
  'public.sync_mark(uuid, text, boolean)',
  'public.sync_claim_payload(public.calendar_sync_state, public.calendar_connections)',
  'public.sync_claim(uuid, text, integer)',
  'public.sync_extend_lease(uuid, text, uuid, integer)',
  'public.sync_restart_full(uuid, text, uuid)',
  'public.mirror_apply_items(uuid, text, bigint, jsonb)',
  'public.sync_store_page(uuid, text, uuid, bigint, jsonb, text[], boolean, text, text, text, timestamptz, timestamptz, integer)',
  'public.sync_finish(uuid, text, uuid, text, boolean)',
  'public.maintenance_claim(uuid, text, integer)',
  'public.maintenance_release(uuid, text, uuid, text)',
  'public.channel_record_pending(uuid, text, uuid, text, text, text)',
  'public.channel_activate(uuid, uuid, text, text, timestamptz, text, boolean)',
  'public.channel_set_status(uuid[], text, text)',
  'public.google_receive_notifications(jsonb)');
