-- Google Calendar push sync: watch channels, per-calendar sync state, and the event mirror.
-- Everything that must be atomic is one SQL function here (claim a sync, store a page and move
-- the sync token, mark a calendar dirty), called by the functions through PostgREST.

-- Watch channels (events.watch). A channel's secret token is kept only as a SHA-256 hash: the
-- receiver hashes what Google echoes in X-Goog-Channel-Token and compares in constant time.
create table public.calendar_webhook_channels (
  id uuid primary key default gen_random_uuid(),
  connection_id uuid not null references public.calendar_connections (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  calendar_id text not null,
  channel_id text not null unique check (length(channel_id) <= 64),
  resource_id text,
  resource_uri text,
  token_hash text not null,
  expiration timestamptz,
  last_message_number bigint,
  last_notification_at timestamptz,
  -- pending: created, watch not yet answered; active: receiving; stopped: replaced or
  -- disconnected; expired: Google stopped delivering; failed: the watch call failed.
  status text not null default 'pending'
    check (status in ('pending', 'active', 'stopped', 'expired', 'failed')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index calendar_webhook_channels_connection_idx
  on public.calendar_webhook_channels (connection_id, calendar_id);
create index calendar_webhook_channels_expiration_idx
  on public.calendar_webhook_channels (expiration) where status = 'active';
create trigger calendar_webhook_channels_set_updated_at
  before update on public.calendar_webhook_channels
  for each row execute function public.set_updated_at();

-- Per connection and calendar: the sync token (survives channel renewal), the durable
-- "needs sync" mark set by notifications, and the stage of the sync that runs at most once at a
-- time (claimed with a lease, so a crashed sync never blocks the calendar for good).
create table public.calendar_sync_tokens (
  connection_id uuid not null references public.calendar_connections (id) on delete cascade,
  calendar_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  sync_token text,
  time_zone text,
  needs_sync boolean not null default true,
  full_sync_required boolean not null default true,
  sync_stage text not null default 'idle' check (sync_stage in ('idle', 'running')),
  sync_lease_until timestamptz,
  -- Bumped by every full sync; rows a full sync did not see keep an older generation.
  generation bigint not null default 0,
  last_synced_at timestamptz,
  last_error text,
  consecutive_failures integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (connection_id, calendar_id)
);
create index calendar_sync_tokens_needs_sync_idx
  on public.calendar_sync_tokens (needs_sync) where needs_sync;
create trigger calendar_sync_tokens_set_updated_at
  before update on public.calendar_sync_tokens
  for each row execute function public.set_updated_at();

-- The mirror of each watched calendar (singleEvents=true: one row per instance).
-- is_busy is decided by the sync with the one busy policy in
-- supabase/functions/_shared/scheduling/busy_policy.ts (tentative counted as busy here;
-- is_tentative lets a user's preference treat tentative time as free).
create table public.calendar_events (
  id uuid primary key default gen_random_uuid(),
  connection_id uuid not null references public.calendar_connections (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  calendar_id text not null,
  external_id text not null,
  summary text,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  all_day boolean not null default false,
  status text not null default 'confirmed' check (status in ('confirmed', 'tentative', 'cancelled')),
  transparency text not null default 'opaque' check (transparency in ('opaque', 'transparent')),
  self_response_status text
    check (self_response_status in ('needsAction', 'declined', 'tentative', 'accepted')),
  event_type text not null default 'default',
  recurring_event_id text,
  original_start_time text,
  ical_uid text,
  etag text,
  external_updated_at timestamptz,
  app_owned boolean not null default false,
  is_busy boolean not null,
  is_tentative boolean not null default false,
  seen_generation bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (connection_id, calendar_id, external_id),
  check (ends_at >= starts_at)
);
create index calendar_events_user_busy_idx
  on public.calendar_events (user_id, starts_at, ends_at) where is_busy;
create trigger calendar_events_set_updated_at
  before update on public.calendar_events
  for each row execute function public.set_updated_at();

-- RLS: users read their own rows; only the service role (the functions) writes. The channel's
-- token hash is not for API users either.
alter table public.calendar_webhook_channels enable row level security;
alter table public.calendar_sync_tokens enable row level security;
alter table public.calendar_events enable row level security;

revoke all on public.calendar_webhook_channels, public.calendar_sync_tokens, public.calendar_events
  from anon, authenticated;
grant all on public.calendar_webhook_channels, public.calendar_sync_tokens, public.calendar_events
  to service_role;
grant select (id, connection_id, user_id, calendar_id, expiration, last_notification_at, status,
  created_at, updated_at) on public.calendar_webhook_channels to authenticated;
grant select (connection_id, calendar_id, user_id, needs_sync, sync_stage, last_synced_at,
  last_error, time_zone, updated_at) on public.calendar_sync_tokens to authenticated;
grant select on public.calendar_events to authenticated;

create policy "Users read their own channels" on public.calendar_webhook_channels
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users read their own sync state" on public.calendar_sync_tokens
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users read their own events" on public.calendar_events
  for select to authenticated using ((select auth.uid()) = user_id);

-- Busy time from every source, one shape for the scheduler. A new source (Calendly meetings)
-- adds a branch here; the engine does not change. security_invoker keeps callers' RLS.
create view public.busy_intervals with (security_invoker = true) as
  select user_id, 'google'::text as source, id::text as source_id, starts_at, ends_at,
    is_tentative
  from public.calendar_events
  where is_busy;
grant select on public.busy_intervals to authenticated, service_role;

-- Notification receipt: one statement marks the calendar dirty and records the message.
-- Returns whether a sync is running now (the receiver then leaves the follow-up to it).
create or replace function public.google_mark_needs_sync(
  p_channel_row_id uuid, p_message_number bigint
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_channel public.calendar_webhook_channels;
  v_running boolean;
begin
  update public.calendar_webhook_channels
    set last_message_number = greatest(coalesce(last_message_number, 0), p_message_number),
        last_notification_at = now()
    where id = p_channel_row_id
    returning * into v_channel;
  if not found then
    return jsonb_build_object('marked', false);
  end if;
  insert into public.calendar_sync_tokens (connection_id, calendar_id, user_id, needs_sync)
    values (v_channel.connection_id, v_channel.calendar_id, v_channel.user_id, true)
    on conflict (connection_id, calendar_id) do update set needs_sync = true
    returning sync_stage = 'running' and sync_lease_until > now() into v_running;
  return jsonb_build_object('marked', true, 'sync_running', v_running,
    'connection_id', v_channel.connection_id, 'calendar_id', v_channel.calendar_id);
end
$$;

-- Claims the calendar's sync if it needs one and none is running (or the running one's lease
-- ran out). Clearing needs_sync at claim time means a notification during the sync sets it
-- again, which the finishing sync sees: exactly one follow-up, however many arrived.
create or replace function public.google_claim_sync(
  p_connection_id uuid, p_calendar_id text, p_lease_seconds integer default 300
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_state public.calendar_sync_tokens;
begin
  update public.calendar_sync_tokens
    set sync_stage = 'running',
        needs_sync = false,
        sync_lease_until = now() + make_interval(secs => p_lease_seconds),
        generation = case when full_sync_required or sync_token is null
          then generation + 1 else generation end
    where connection_id = p_connection_id and calendar_id = p_calendar_id
      and needs_sync
      and (sync_stage = 'idle' or sync_lease_until is null or sync_lease_until < now())
    returning * into v_state;
  if not found then
    return null;
  end if;
  return jsonb_build_object(
    'sync_token', case when v_state.full_sync_required then null else v_state.sync_token end,
    'generation', v_state.generation,
    'time_zone', v_state.time_zone,
    'lease_until', v_state.sync_lease_until);
end
$$;

-- A 410 fullSyncRequired mid-sync: forget the token and start a new generation, keeping the
-- claim. The mirror stays as it is until the full sync completes, then the rows it did not
-- return go.
create or replace function public.google_restart_full_sync(
  p_connection_id uuid, p_calendar_id text
) returns bigint
language sql volatile set search_path to '' as $$
  update public.calendar_sync_tokens
    set sync_token = null, full_sync_required = true, generation = generation + 1
    where connection_id = p_connection_id and calendar_id = p_calendar_id
    returning generation
$$;

-- Stores one page of events.list idempotently. On the last page (p_next_sync_token set), the
-- same transaction moves the sync token and, after a full sync, removes what it did not see.
-- Returns counts and whether busy time changed.
create or replace function public.google_store_event_page(
  p_connection_id uuid,
  p_calendar_id text,
  p_generation bigint,
  p_events jsonb,
  p_cancelled_ids text[],
  p_is_full_sync boolean,
  p_next_sync_token text default null,
  p_time_zone text default null
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_user_id uuid;
  v_busy_changed integer := 0;
  v_upserted integer := 0;
  v_deleted integer := 0;
  v_removed integer := 0;
  v_stale_busy integer := 0;
  v_current_generation bigint;
begin
  select user_id, generation into v_user_id, v_current_generation
    from public.calendar_sync_tokens
    where connection_id = p_connection_id and calendar_id = p_calendar_id
    for update;
  if not found then
    raise exception 'no sync state for connection % calendar %', p_connection_id, p_calendar_id
      using errcode = 'P0002';
  end if;
  -- A newer full sync has started (410 elsewhere, or a lease taken over): this page is stale.
  if v_current_generation <> p_generation then
    return jsonb_build_object('stale', true);
  end if;

  -- One statement: every part of it sees the mirror as it was before the upsert, so the busy
  -- comparison reads the old rows without a staging table.
  with incoming as (
    select distinct on (external_id) *
    from jsonb_to_recordset(coalesce(p_events, '[]'::jsonb)) as x(
      external_id text, summary text, starts_at timestamptz, ends_at timestamptz,
      all_day boolean, status text, transparency text, self_response_status text,
      event_type text, recurring_event_id text, original_start_time text, ical_uid text,
      etag text, external_updated_at timestamptz, app_owned boolean, is_busy boolean,
      is_tentative boolean)
    order by external_id
  ),
  busy_changes as (
    select count(*) as n
    from incoming i
    left join public.calendar_events e
      on e.connection_id = p_connection_id and e.calendar_id = p_calendar_id
      and e.external_id = i.external_id
    where (i.is_busy or coalesce(e.is_busy, false))
      and (e.id is null or e.starts_at <> i.starts_at or e.ends_at <> i.ends_at
        or e.is_busy <> i.is_busy or e.is_tentative <> i.is_tentative)
  ),
  upserted as (
    insert into public.calendar_events as e (
      connection_id, user_id, calendar_id, external_id, summary, starts_at, ends_at, all_day,
      status, transparency, self_response_status, event_type, recurring_event_id,
      original_start_time, ical_uid, etag, external_updated_at, app_owned, is_busy,
      is_tentative, seen_generation)
    select p_connection_id, v_user_id, p_calendar_id, external_id, summary, starts_at, ends_at,
      all_day, status, transparency, self_response_status, event_type, recurring_event_id,
      original_start_time, ical_uid, etag, external_updated_at, app_owned, is_busy,
      is_tentative, p_generation
    from incoming
    on conflict (connection_id, calendar_id, external_id) do update set
      summary = excluded.summary, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
      all_day = excluded.all_day, status = excluded.status,
      transparency = excluded.transparency,
      self_response_status = excluded.self_response_status, event_type = excluded.event_type,
      recurring_event_id = excluded.recurring_event_id,
      original_start_time = excluded.original_start_time, ical_uid = excluded.ical_uid,
      etag = excluded.etag, external_updated_at = excluded.external_updated_at,
      app_owned = excluded.app_owned, is_busy = excluded.is_busy,
      is_tentative = excluded.is_tentative, seen_generation = excluded.seen_generation
    -- An unchanged event (same etag) only needs its generation bumped during a full sync.
    where e.etag is distinct from excluded.etag or e.seen_generation <> excluded.seen_generation
    returning 1
  )
  select (select n from busy_changes), (select count(*) from upserted)
    into v_busy_changed, v_upserted;

  with gone as (
    delete from public.calendar_events
    where connection_id = p_connection_id and calendar_id = p_calendar_id
      and external_id = any (coalesce(p_cancelled_ids, '{}'))
    returning is_busy)
  select count(*), count(*) filter (where is_busy) into v_deleted, v_removed from gone;
  v_busy_changed := v_busy_changed + v_removed;

  if p_next_sync_token is not null then
    if p_is_full_sync then
      with stale as (
        delete from public.calendar_events
        where connection_id = p_connection_id and calendar_id = p_calendar_id
          and seen_generation < p_generation
        returning is_busy)
      select count(*), count(*) filter (where is_busy) into v_removed, v_stale_busy from stale;
      v_deleted := v_deleted + v_removed;
      v_busy_changed := v_busy_changed + v_stale_busy;
    end if;
    update public.calendar_sync_tokens
      set sync_token = p_next_sync_token,
          full_sync_required = false,
          time_zone = coalesce(p_time_zone, time_zone),
          last_synced_at = now(),
          last_error = null,
          consecutive_failures = 0
      where connection_id = p_connection_id and calendar_id = p_calendar_id;
    update public.calendar_connections set last_sync_at = now(), last_error = null
      where id = p_connection_id;
  end if;

  return jsonb_build_object('stale', false, 'upserted', v_upserted, 'deleted', v_deleted,
    'busy_changed', v_busy_changed > 0);
end
$$;

-- Ends a claimed sync. Returns whether another notification arrived meanwhile (the caller then
-- runs exactly one follow-up).
create or replace function public.google_finish_sync(
  p_connection_id uuid, p_calendar_id text, p_error text default null
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_state public.calendar_sync_tokens;
begin
  update public.calendar_sync_tokens
    set sync_stage = 'idle',
        sync_lease_until = null,
        last_error = p_error,
        consecutive_failures = case when p_error is null then 0 else consecutive_failures + 1 end,
        -- A failed sync must run again: nothing it was asked to pick up may be lost.
        needs_sync = needs_sync or p_error is not null
    where connection_id = p_connection_id and calendar_id = p_calendar_id
    returning * into v_state;
  if p_error is not null then
    update public.calendar_connections set last_error = p_error where id = p_connection_id;
  end if;
  return jsonb_build_object('needs_sync', coalesce(v_state.needs_sync, false));
end
$$;

revoke execute on function
  public.google_mark_needs_sync(uuid, bigint),
  public.google_claim_sync(uuid, text, integer),
  public.google_restart_full_sync(uuid, text),
  public.google_store_event_page(uuid, text, bigint, jsonb, text[], boolean, text, text),
  public.google_finish_sync(uuid, text, text)
  from public, anon, authenticated;
grant execute on function
  public.google_mark_needs_sync(uuid, bigint),
  public.google_claim_sync(uuid, text, integer),
  public.google_restart_full_sync(uuid, text),
  public.google_store_event_page(uuid, text, bigint, jsonb, text[], boolean, text, text),
  public.google_finish_sync(uuid, text, text)
  to service_role;
