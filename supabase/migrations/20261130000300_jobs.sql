-- Jobs inside the database (pg_cron) that keep everything converging without any outside
-- scheduler. Each job decides in SQL whether there is work, and only then calls a function
-- (public.invoke_edge_function, with the cron secret from Vault).
--
-- Rollback: after 20261130000400's (sync_cleanup here calls its clean_old_webhook_events: roll
-- the two back together, or the daily cleanup job fails in between):
--   select cron.unschedule('refresh-calendar-webhooks');
--   select cron.unschedule('calendar-sync-cleanup');
--   select cron.unschedule('roll-forward-schedules');
--   select cron.unschedule('serve-plan-marks');
--   drop function public.connection_needs_reauth, public.maintenance_context,
--     public.maintenance_targets, public.maintenance_dispatch,
--     public.maintenance_take_due, public.maintenance_backup_period, public.sync_cleanup;
--   drop table public.maintenance_settings;
-- Data lost: tuned maintenance settings (re-applying restores the defaults). While it is rolled
-- back nothing renews push channels (Google's expire within 7 days), runs backup syncs, cleans
-- up or rolls plans forward.

-- Bookkeeping that needs no provider call: channels past their expiration stop receiving, old
-- stopped channels and items long past go, webhook deliveries older than 30 days go
-- (clean_old_webhook_events), pg_cron's own history is trimmed.
create or replace function public.sync_cleanup() returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_now timestamptz := public.app_now();
  v_expired integer;
  v_channels integer;
  v_events integer;
  v_deliveries integer;
begin
  update public.calendar_webhook_channels
    set status = 'expired', stopped_at = coalesce(stopped_at, v_now)
    where status in ('active', 'pending') and expiration < v_now;
  get diagnostics v_expired = row_count;
  -- By stopped_at (stamped with app_now()), not updated_at (the real clock), so a simulation
  -- that moves app_now() keeps the last 7 simulated days of history.
  delete from public.calendar_webhook_channels
    where status in ('stopped', 'expired', 'failed')
      and coalesce(stopped_at, updated_at) < v_now - interval '7 days';
  get diagnostics v_channels = row_count;
  delete from public.calendar_events where ends_at < v_now - interval '90 days';
  get diagnostics v_events = row_count;
  -- Defined with the deliveries' consumers (Calendly's migration); resolved at run time.
  v_deliveries := public.clean_old_webhook_events();
  delete from cron.job_run_details where end_time < now() - interval '7 days';
  return jsonb_build_object('channels_expired', v_expired, 'channels_deleted', v_channels,
    'events_deleted', v_events, 'deliveries_deleted', v_deliveries);
end
$$;
select public.restrict_to_service_role('public.sync_cleanup()');

do $$
declare
  v_job text;
begin
  foreach v_job in array array['refresh-calendar-webhooks', 'calendar-sync-cleanup',
    'roll-forward-schedules', 'serve-plan-marks'] loop
    if exists (select 1 from cron.job where jobname = v_job) then
      perform cron.unschedule(v_job);
    end if;
  end loop;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Fan-out maintenance: every minute, pg_cron selects the calendars that need maintenance inside
-- the database, claims each one (maintenance_claim, FOR UPDATE SKIP LOCKED, so overlapping runs
-- never take the same calendar), and hands them to refresh-calendar-webhook in small batches,
-- one pg_net request per batch. A batch that dies is taken again when its leases run out.
-- Why a calendar is due:
--   renew       Google: no active channel, or it expires within the lead time (24 h);
--               Calendly: no active webhook subscription (a disabled one is found and
--               replaced by the backup's check);
--   cleanup     Google: replaced channels still to stop, or channels left pending (a setup that
--               died after opening one);
--   stale_mark  marked as needing a sync for over a minute and no sync holds it (a dropped
--               kick, a crashed run);
--   backup      the calendar would otherwise go a whole backup period without a successful
--               sync before the next run (15 min; stretched when the calendars would not fit
--               in the configured share of the project's Google quota), so a change whose
--               notification Google dropped reaches the mirror within one period; Notion data
--               sources are polled every 2 minutes alike (its webhooks are at-most-once).
-- Work per run is bounded by a request budget (a share of Google's per-project quota per
-- minute) and per user (Google's per-user quota), renewals before backups.

create table public.maintenance_settings (
  id boolean primary key default true check (id),
  renew_lead interval not null default '24 hours',
  backup_period interval not null default '15 minutes',
  -- Notion integration webhooks are at-most-once: a poll every 2 minutes is the backstop.
  notion_poll_period interval not null default '2 minutes',
  stale_mark_after interval not null default '1 minute',
  -- How often pg_cron runs maintenance_dispatch (the job's schedule below). A backup is taken
  -- by the last run before the period would be exceeded: waiting until it is exceeded would
  -- let a calendar go up to one interval longer than the period without a sync.
  dispatch_interval interval not null default '1 minute',
  orphan_pending_after interval not null default '2 minutes',
  -- Google's documented quotas, per minute.
  project_quota_per_minute integer not null default 10000,
  user_quota_per_minute integer not null default 600,
  -- The share of the project quota maintenance may use each minute (push-driven syncs keep the
  -- rest).
  quota_share numeric not null default 0.3 check (quota_share > 0 and quota_share <= 1),
  -- Google requests one item costs, roughly: a renewal is watch + stop (+ a token refresh).
  renew_cost integer not null default 3,
  backup_cost integer not null default 1,
  batch_size integer not null default 25 check (batch_size between 1 and 500),
  lease_seconds integer not null default 120
);
insert into public.maintenance_settings default values;
alter table public.maintenance_settings enable row level security;
revoke all on public.maintenance_settings from anon, authenticated;
grant all on public.maintenance_settings to service_role;

-- The backup period in effect: the configured one, stretched so that every watched calendar's
-- backup fits in the maintenance share of the quota (backups run up to one dispatch interval
-- before the period is over, hence the interval on top).
create or replace function public.maintenance_backup_period() returns interval
language sql stable set search_path to '' as $$
  select greatest(ms.backup_period, make_interval(secs => ceil(60.0 * ms.backup_cost
    * (select count(*) from public.calendar_sync_state)
    / (ms.project_quota_per_minute * ms.quota_share))) + ms.dispatch_interval)
  from public.maintenance_settings ms
$$;

-- Selects and claims due calendars within this minute's budget. Returns
-- [{connection_id, calendar_id, provider, claim, reasons}] (already claimed).
create or replace function public.maintenance_take_due(p_limit integer default 5000)
returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_now timestamptz := public.app_now();
  v_settings public.maintenance_settings;
  v_backup_period interval := public.maintenance_backup_period();
  v_taken jsonb;
begin
  select * into v_settings from public.maintenance_settings;
  -- Materialized: inlined, the reasons (with their lookups of each calendar's channels) were
  -- evaluated again in every expression that reads them, which cost seconds per run at 10,000
  -- calendars instead of a fraction of one.
  with candidates as materialized (
    select s.connection_id, s.calendar_id, s.user_id, c.provider,
      array_remove(array[
        case when c.provider in ('google', 'calendly') and not exists (
          select 1 from public.calendar_webhook_channels ch
          where ch.connection_id = s.connection_id and ch.calendar_id = s.calendar_id
            and ch.status = 'active'
            and (ch.expiration is null or ch.expiration > v_now + v_settings.renew_lead))
          then 'renew' end,
        case when exists (
          select 1 from public.calendar_webhook_channels ch
          where ch.connection_id = s.connection_id and ch.calendar_id = s.calendar_id
            and (ch.status = 'stopping' or (ch.status = 'pending'
              and ch.created_at < v_now - v_settings.orphan_pending_after)))
          then 'cleanup' end,
        case when s.needs_sync and s.marked_at < v_now - v_settings.stale_mark_after
          and (s.claim_token is null or s.lease_until < v_now) then 'stale_mark' end,
        case when s.last_synced_at is null or s.last_synced_at <= v_now - case
            when c.provider = 'notion' then v_settings.notion_poll_period else v_backup_period end
            + v_settings.dispatch_interval
          then 'backup' end], null) as reasons,
      -- Earliest need first: renewals by expiration, then marks, then the longest-quiet backups.
      coalesce((select min(ch.expiration) from public.calendar_webhook_channels ch
          where ch.connection_id = s.connection_id and ch.calendar_id = s.calendar_id
            and ch.status = 'active'), '-infinity') as channel_expires,
      coalesce(s.last_synced_at, '-infinity') as last_synced_at
    from public.calendar_sync_state s
    join public.calendar_connections c on c.id = s.connection_id
    where c.status = 'active' and c.sync_enabled
      and (s.maintenance_claim is null or s.maintenance_lease_until < v_now)
      and (s.maintenance_retry_at is null or s.maintenance_retry_at <= v_now)
  ),
  costed as materialized (
    select cand.*,
      case when 'renew' = any (reasons) or 'cleanup' = any (reasons)
        then v_settings.renew_cost else v_settings.backup_cost end as cost,
      case when 'renew' = any (reasons) then 0 when 'cleanup' = any (reasons) then 1
        when 'stale_mark' = any (reasons) then 2 else 3 end as rank
    from candidates cand where cardinality(reasons) > 0
  ),
  budgeted as (
    select costed.*,
      sum(cost) over (order by rank, channel_expires, last_synced_at, connection_id, calendar_id
        rows unbounded preceding) as spent,
      sum(cost) over (partition by user_id order by rank, channel_expires, last_synced_at,
        connection_id, calendar_id rows unbounded preceding) as user_spent
    from costed
  ),
  chosen as (
    select s.connection_id, s.calendar_id, b.provider, b.reasons, b.rank, b.channel_expires,
      b.last_synced_at
    from budgeted b
    join public.calendar_sync_state s
      on s.connection_id = b.connection_id and s.calendar_id = b.calendar_id
    where b.spent <= v_settings.project_quota_per_minute * v_settings.quota_share
      and b.user_spent <= v_settings.user_quota_per_minute * v_settings.quota_share
      -- Checked again on the locked row: `candidates` read a snapshot taken before an
      -- overlapping run committed its claims, and a row that run claimed is re-checked here
      -- (not skipped: it is no longer locked), so without this a second run would take the
      -- same calendar and overwrite the first run's claim.
      and (s.maintenance_claim is null or s.maintenance_lease_until < v_now)
    order by b.rank, b.channel_expires, b.last_synced_at
    limit p_limit
    for update of s skip locked
  ),
  claimed as (
    update public.calendar_sync_state s
      set maintenance_claim = gen_random_uuid(),
          maintenance_lease_until = v_now + make_interval(secs => v_settings.lease_seconds)
      from chosen
      where s.connection_id = chosen.connection_id and s.calendar_id = chosen.calendar_id
      returning s.connection_id, s.calendar_id, chosen.provider, s.maintenance_claim,
        chosen.reasons, chosen.rank, chosen.channel_expires, chosen.last_synced_at)
  select coalesce(jsonb_agg(jsonb_build_object('connection_id', connection_id,
      'calendar_id', calendar_id, 'provider', provider, 'claim', maintenance_claim,
      'reasons', to_jsonb(reasons))
      order by rank, channel_expires, last_synced_at), '[]'::jsonb)
    into v_taken from claimed;
  return v_taken;
end
$$;

-- What pg_cron runs every minute: take the due calendars and send them to
-- refresh-calendar-webhook in batches (one pg_net request each). Returns the number of batches.
create or replace function public.maintenance_dispatch() returns integer
language plpgsql volatile set search_path to '' as $$
declare
  v_taken jsonb := public.maintenance_take_due();
  v_batch_size integer := (select batch_size from public.maintenance_settings);
  v_batches integer := 0;
  v_offset integer := 0;
begin
  while v_offset < jsonb_array_length(v_taken) loop
    perform public.invoke_edge_function('refresh-calendar-webhook', jsonb_build_object(
      'batch', (select jsonb_agg(e order by i) from jsonb_array_elements(v_taken)
        with ordinality as t(e, i) where i > v_offset and i <= v_offset + v_batch_size)));
    v_offset := v_offset + v_batch_size;
    v_batches := v_batches + 1;
  end loop;
  return v_batches;
end
$$;

-- The user's manual refresh and the service role's scoped refresh: the watched calendars of a
-- user and/or a connection (at least one of the two), bounded, as one array.
create or replace function public.maintenance_targets(
  p_user_id uuid default null, p_connection_id uuid default null
) returns jsonb
language sql stable set search_path to '' as $$
  select coalesce(jsonb_agg(jsonb_build_object('connection_id', s.connection_id,
    'calendar_id', s.calendar_id, 'provider', c.provider, 'status', c.status)
    order by s.connection_id, s.calendar_id), '[]'::jsonb)
  from (select * from public.calendar_sync_state
        where (p_user_id is not null or p_connection_id is not null)
          and (p_user_id is null or user_id = p_user_id)
          and (p_connection_id is null or connection_id = p_connection_id)
        order by connection_id, calendar_id limit 200) s
  join public.calendar_connections c on c.id = s.connection_id
$$;

-- Everything a batch needs to work on its calendars, in one round trip: for each item (which
-- the caller holds the maintenance claim of), the connection with its token ciphertexts, the
-- calendar's live channels, and the database's clock. Items whose claim is no longer held are
-- left out.
create or replace function public.maintenance_context(p_items jsonb) returns jsonb
language sql stable set search_path to '' as $$
  select jsonb_build_object('now', public.app_now(), 'items', coalesce(jsonb_agg(
    jsonb_build_object(
      'connection_id', s.connection_id, 'calendar_id', s.calendar_id, 'claim', i.claim,
      'reasons', i.reasons,
      'connection', jsonb_build_object('id', c.id, 'user_id', c.user_id,
        'provider', c.provider, 'status', c.status,
        'external_account_id', c.external_account_id, 'settings', c.settings,
        'refresh_token_encrypted', c.refresh_token_encrypted,
        'access_token_encrypted', c.access_token_encrypted,
        'access_token_expires_at', c.access_token_expires_at),
      'channels', coalesce((
        select jsonb_agg(jsonb_build_object('id', ch.id, 'channel_id', ch.channel_id,
          'resource_id', ch.resource_id, 'expiration', ch.expiration, 'status', ch.status,
          'created_at', ch.created_at) order by ch.expiration desc nulls last)
        from public.calendar_webhook_channels ch
        where ch.connection_id = s.connection_id and ch.calendar_id = s.calendar_id
          and ch.status in ('pending', 'active', 'stopping')), '[]'::jsonb))
    order by i.ordinality), '[]'::jsonb))
  from rows from (jsonb_to_recordset(p_items)
    as (connection_id uuid, calendar_id text, claim uuid, reasons jsonb)) with ordinality
    as i(connection_id, calendar_id, claim, reasons, ordinality)
  join public.calendar_sync_state s
    on s.connection_id = i.connection_id and s.calendar_id = i.calendar_id
    and s.maintenance_claim = i.claim
  join public.calendar_connections c on c.id = s.connection_id
$$;

-- A connection whose grant is dead: re-authorisation needed, and its channels no longer count
-- (they cannot be stopped at the provider without a token; they expire there on their own and
-- the receiver ignores them).
create or replace function public.connection_needs_reauth(p_connection_id uuid, p_reason text)
returns void
language sql volatile set search_path to '' as $$
  update public.calendar_connections set status = 'needs_reauth', last_error = p_reason
    where id = p_connection_id and status = 'active';
  update public.calendar_webhook_channels
    set status = 'stopped', stopped_at = public.app_now(), last_error = p_reason
    where connection_id = p_connection_id and status in ('pending', 'active', 'stopping');
$$;

select public.restrict_to_service_role(
  'public.maintenance_backup_period()',
  'public.maintenance_take_due(integer)',
  'public.maintenance_dispatch()',
  'public.maintenance_targets(uuid, uuid)',
  'public.maintenance_context(jsonb)',
  'public.connection_needs_reauth(uuid, text)');

select cron.schedule('refresh-calendar-webhooks', '* * * * *',
  $$ select public.maintenance_dispatch() $$);

select cron.schedule('calendar-sync-cleanup', '23 4 * * *', $$ select public.sync_cleanup() $$);

-- Hourly roll-forward: each user is re-planned soon after THEIR local midnight (the idempotency
-- hash includes the local date; schedule_users_to_plan skips users already planned today, so
-- the other 23 runs a day cost one query). Unscheduled work gets new days in the horizon;
-- nothing that is still valid moves.
select cron.schedule(
  'roll-forward-schedules',
  '17 * * * *',
  $$ select public.invoke_edge_function('recalculate-schedule', '{"trigger": "roll_forward"}')
     where cardinality(public.schedule_users_to_plan()) > 0 $$
);

-- Every minute: "needs a plan" marks that nobody served within 30 s (a request that failed, a
-- crashed run) are served. Costs one indexed query when there are none.
select cron.schedule(
  'serve-plan-marks',
  '* * * * *',
  $$ select public.invoke_edge_function('recalculate-schedule', '{"sweep": true}')
     where cardinality(public.schedule_unserved_marks(30, 1)) > 0 $$
);
