-- Write-back: the planned session blocks in the user's own calendar (Google; Notion next),
-- through a durable, provider-neutral outbound queue.
--
--   - A change to the plan enqueues in the SAME transaction that changes it (triggers on
--     session_blocks, sessions and the preferences), so nothing is written that did not commit
--     and nothing committed is forgotten. Consecutive changes to one block coalesce into its
--     latest desired state; a change back to what was last written cancels the pending write.
--   - process-outbound-queue drains it in small batches, claimed with a visibility timeout (a
--     crashed batch reappears); it is kicked right after an enqueue (pg_net, once per
--     transaction) and swept every minute by pg_cron. Failures retry with capped exponential
--     backoff; after a bounded number of attempts an item is FAILED with its last error;
--     invalid_grant HOLDS the connection's items until the user reconnects.
--   - write_back_links remember what was written where (the event id, its etag, the times), so
--     our own writes coming back are recognised (echo) and a person's edit of one of our events
--     is the user speaking: moved or resized → the session takes the new time and is locked;
--     deleted → planned after that time (or unscheduled with a reason). When the app and the
--     person changed the same block since the last exchange, the later change wins and a
--     sync_conflicts row records both versions, the winner and why.
-- The queue also carries the provider-side cleanup of a disconnect or a deleted user (stopping
-- channels, revoking tokens), queued before the rows go.
--
-- Rollback: after 20261130000600's, and only on the way to rolling back 20261130000100 too (its
-- sync_store_page calls write_back_reconcile on every page); to stop writing back without a
-- rollback, set write_back_enabled to false. Let the queue drain first: its revoke_token items
-- release disconnected connections and deleted users at the providers.
--   select cron.unschedule('process-outbound-queue');
--   select cron.unschedule('outbound-queue-cleanup');
--   drop trigger connections_release_held on public.calendar_connections;
--   drop trigger connections_write_back on public.calendar_connections;
--   drop trigger preferences_write_back on public.scheduling_preferences;
--   drop trigger sessions_write_back on public.sessions;
--   drop trigger session_blocks_write_back on public.session_blocks;
--   drop view public.outbound_queue_stats_overall, public.outbound_queue_stats;
--   drop table public.sync_conflicts, public.outbound_queue, public.write_back_links;
--   drop function public.outbound_due, public.outbound_next_due_seconds,
--     public.outbound_cleanup, public.write_back_reconcile, public.write_back_provider_changed,
--     public.write_back_set_planned_calendar, public.connections_release_held,
--     public.outbound_hold_connection, public.outbound_retry, public.outbound_complete,
--     public.outbound_claim, public.outbound_queue_kick, public.connections_write_back,
--     public.preferences_write_back, public.write_back_retarget, public.sessions_write_back,
--     public.session_blocks_write_back, public.write_back_block_changed,
--     public.write_back_desired, public.write_back_enqueue, public.write_back_targets;
--   alter table public.scheduling_preferences drop column write_back_calendar,
--     drop column write_back_enabled;
-- Data lost: waiting and failed writes, what was written where (events already written stay in
-- users' calendars: delete the "Planned sessions" calendar to remove them), the conflict log and
-- users' write-back choices.

-- ---------------------------------------------------------------------------------------------
-- Opt-in per user.

alter table public.scheduling_preferences
  add column write_back_enabled boolean not null default false,
  -- 'planned': a secondary calendar "Planned sessions" the bundle creates; 'primary'; or the id
  -- of a calendar of the connected Google account.
  add column write_back_calendar text not null default 'planned'
    check (length(write_back_calendar) between 1 and 1024);
grant insert (write_back_enabled, write_back_calendar) on public.scheduling_preferences
  to authenticated;
grant update (write_back_enabled, write_back_calendar) on public.scheduling_preferences
  to authenticated;

-- ---------------------------------------------------------------------------------------------
-- What was written where.

create table public.write_back_links (
  connection_id uuid not null references public.calendar_connections (id) on delete cascade,
  calendar_id text not null,
  block_key text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  session_id uuid not null,
  block_index integer not null,
  external_id text not null,
  -- Bumped when a block must be created again (a deleted event's id stays taken at Google).
  id_version integer not null default 1,
  etag text,
  written_title text,
  written_starts_at timestamptz,
  written_ends_at timestamptz,
  written_at timestamptz,
  status text not null default 'live' check (status in ('live', 'deleted')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (connection_id, calendar_id, block_key),
  unique (connection_id, calendar_id, external_id)
);
create index write_back_links_session_idx on public.write_back_links (session_id);
create trigger write_back_links_set_updated_at
  before update on public.write_back_links
  for each row execute function public.set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- The outbound queue.

create table public.outbound_queue (
  id bigserial primary key,
  user_id uuid references auth.users (id) on delete set null,
  connection_id uuid references public.calendar_connections (id) on delete set null,
  provider text not null check (provider in ('google', 'calendly', 'notion')),
  operation text not null
    check (operation in ('upsert_block', 'delete_block', 'revoke_token')),
  -- 'planned' / 'primary' / a calendar id (Google), a data source id (Notion).
  target_calendar text not null default '',
  -- The block key, or the channel / token being cleaned up.
  target_key text not null,
  -- upsert_block: {session_id, block_index, title, starts_at, ends_at, changed_at}.
  desired jsonb not null default '{}'::jsonb,
  -- Cleanup of a connection that is gone: what is needed to act on its behalf (sealed).
  credential jsonb,
  status text not null default 'PENDING'
    check (status in ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'HELD')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  claim uuid,
  claimed_until timestamptz,
  last_error text,
  note text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz
);
-- Coalescing: one waiting item per target (a newer desired state replaces the waiting one).
create unique index outbound_queue_waiting_idx
  on public.outbound_queue (connection_id, target_calendar, target_key)
  where status in ('PENDING', 'HELD');
create index outbound_queue_due_idx on public.outbound_queue (next_attempt_at)
  where status in ('PENDING', 'PROCESSING');
create index outbound_queue_user_idx on public.outbound_queue (user_id, status);
create index outbound_queue_completed_idx on public.outbound_queue (completed_at)
  where status = 'COMPLETED';
create trigger outbound_queue_set_updated_at
  before update on public.outbound_queue
  for each row execute function public.set_updated_at();

create table public.sync_conflicts (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  connection_id uuid references public.calendar_connections (id) on delete cascade,
  block_key text not null,
  app_version jsonb not null,
  provider_version jsonb not null,
  winner text not null check (winner in ('app', 'provider')),
  reason text not null,
  created_at timestamptz not null default now()
);
create index sync_conflicts_user_idx on public.sync_conflicts (user_id, created_at desc);

alter table public.write_back_links enable row level security;
alter table public.outbound_queue enable row level security;
alter table public.sync_conflicts enable row level security;
revoke all on public.write_back_links, public.outbound_queue, public.sync_conflicts
  from anon, authenticated;
grant all on public.write_back_links, public.outbound_queue, public.sync_conflicts to service_role;
grant usage on sequence public.outbound_queue_id_seq to service_role;
grant select (connection_id, calendar_id, block_key, user_id, session_id, block_index,
  external_id, written_starts_at, written_ends_at, written_at, status)
  on public.write_back_links to authenticated;
grant select (id, user_id, connection_id, provider, operation, target_calendar, target_key, status,
  attempts, next_attempt_at, last_error, note, created_at, updated_at, completed_at)
  on public.outbound_queue to authenticated;
grant select on public.sync_conflicts to authenticated;
create policy "Users read their own links" on public.write_back_links
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users read their own outbound items" on public.outbound_queue
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users read their own conflicts" on public.sync_conflicts
  for select to authenticated using ((select auth.uid()) = user_id);

-- The seed's queue statistics, per user (owners see their own row) and overall (service role).
create view public.outbound_queue_stats with (security_invoker = true) as
  select q.user_id,
    count(*) filter (where q.status = 'PENDING') as pending,
    count(*) filter (where q.status = 'PROCESSING') as processing,
    count(*) filter (where q.status = 'COMPLETED') as completed,
    count(*) filter (where q.status = 'FAILED') as failed,
    count(*) filter (where q.status = 'HELD') as held,
    coalesce(extract(epoch from public.app_now()
      - min(q.created_at) filter (where q.status in ('PENDING', 'PROCESSING'))) * 1000, 0)::bigint
      as oldest_pending_age_ms
  from public.outbound_queue q
  group by q.user_id;
grant select on public.outbound_queue_stats to authenticated, service_role;

create view public.outbound_queue_stats_overall as
  select count(*) filter (where status = 'PENDING') as pending,
    count(*) filter (where status = 'PROCESSING') as processing,
    count(*) filter (where status = 'COMPLETED') as completed,
    count(*) filter (where status = 'FAILED') as failed,
    count(*) filter (where status = 'HELD') as held,
    coalesce(extract(epoch from public.app_now()
      - min(created_at) filter (where status in ('PENDING', 'PROCESSING'))) * 1000, 0)::bigint
      as oldest_pending_age_ms
  from public.outbound_queue;
revoke all on public.outbound_queue_stats_overall from anon, authenticated;
grant select on public.outbound_queue_stats_overall to service_role;

-- ---------------------------------------------------------------------------------------------
-- Enqueueing, in the transaction that changes the plan.

-- Where a user's planned blocks are written: their Google connection's chosen calendar (when
-- write-back is on), and every Notion connection with write-back on.
create or replace function public.write_back_targets(p_user_id uuid)
returns table (connection_id uuid, provider text, calendar text)
language sql stable set search_path to '' as $$
  select c.id, c.provider, case p.write_back_calendar
      when 'planned' then coalesce(c.settings ->> 'planned_calendar_id', 'planned')
      when 'primary' then c.external_account_id
      else p.write_back_calendar end
  from public.scheduling_preferences p
  join lateral (
    select * from public.calendar_connections c
    where c.user_id = p.user_id and c.provider = 'google' and c.status <> 'revoked'
    order by c.created_at limit 1) c on true
  where p.user_id = p_user_id and p.write_back_enabled
  union all
  select c.id, c.provider, c.settings ->> 'data_source_id'
  from public.calendar_connections c
  where c.user_id = p_user_id and c.provider = 'notion' and c.status <> 'revoked'
    and coalesce((c.settings ->> 'write_back')::boolean, false)
$$;

-- Queues one block's desired state (p_desired null: the block should not exist) for one target,
-- coalescing with a waiting item, and skipping what would change nothing.
create or replace function public.write_back_enqueue(
  p_user_id uuid,
  p_connection_id uuid,
  p_provider text,
  p_calendar text,
  p_block_key text,
  p_desired jsonb
) returns void
language plpgsql volatile set search_path to '' as $$
declare
  v_link public.write_back_links;
begin
  select * into v_link from public.write_back_links
    where connection_id = p_connection_id and calendar_id = p_calendar
      and block_key = p_block_key and status = 'live';
  if (p_desired is not null and found
      and v_link.written_starts_at = (p_desired ->> 'starts_at')::timestamptz
      and v_link.written_ends_at = (p_desired ->> 'ends_at')::timestamptz
      and v_link.written_title is not distinct from p_desired ->> 'title')
    or (p_desired is null and not found) then
    -- The provider already has exactly this: a waiting write would change nothing.
    delete from public.outbound_queue
      where connection_id = p_connection_id and target_calendar = p_calendar
        and target_key = p_block_key and status = 'PENDING';
    return;
  end if;
  insert into public.outbound_queue as q (user_id, connection_id, provider, operation,
    target_calendar, target_key, desired)
  values (p_user_id, p_connection_id, p_provider,
    case when p_desired is null then 'delete_block' else 'upsert_block' end, p_calendar,
    p_block_key, coalesce(p_desired, jsonb_build_object('block_key', p_block_key)))
  on conflict (connection_id, target_calendar, target_key) where status in ('PENDING', 'HELD')
  do update set operation = excluded.operation, desired = excluded.desired,
    attempts = 0, next_attempt_at = least(q.next_attempt_at, now()), last_error = null;
end
$$;

-- The desired state of a block (null when the block should not be in the user's calendar: the
-- session is done, cancelled or gone).
create or replace function public.write_back_desired(p_session_id uuid, p_block_index integer)
returns jsonb
language sql stable set search_path to '' as $$
  select jsonb_build_object('session_id', s.id, 'block_index', b.block_index,
    'block_key', b.block_key, 'title', s.title, 'starts_at', b.starts_at,
    'ends_at', b.ends_at, 'changed_at', public.app_now())
  from public.session_blocks b
  join public.sessions s on s.id = b.session_id
  where b.session_id = p_session_id and b.block_index = p_block_index
    and s.status in ('scheduled', 'unscheduled')
$$;

-- Re-queues one block for every write-back target of its user.
create or replace function public.write_back_block_changed(
  p_user_id uuid, p_session_id uuid, p_block_index integer
) returns void
language plpgsql volatile set search_path to '' as $$
declare
  v_target record;
  v_desired jsonb := public.write_back_desired(p_session_id, p_block_index);
begin
  for v_target in select * from public.write_back_targets(p_user_id) loop
    perform public.write_back_enqueue(p_user_id, v_target.connection_id, v_target.provider,
      v_target.calendar, p_session_id::text || ':' || p_block_index::text, v_desired);
  end loop;
end
$$;

create or replace function public.session_blocks_write_back() returns trigger
language plpgsql security definer set search_path to '' as $$
begin
  if tg_op = 'DELETE' then
    perform public.write_back_block_changed(old.user_id, old.session_id, old.block_index);
  else
    perform public.write_back_block_changed(new.user_id, new.session_id, new.block_index);
  end if;
  return null;
end
$$;
create trigger session_blocks_write_back
  after insert or update or delete on public.session_blocks
  for each row execute function public.session_blocks_write_back();

-- A session done, cancelled, reopened or renamed: its blocks' desired state changed.
create or replace function public.sessions_write_back() returns trigger
language plpgsql security definer set search_path to '' as $$
declare
  v_block record;
begin
  if new.status is distinct from old.status or new.title is distinct from old.title then
    for v_block in select block_index from public.session_blocks where session_id = new.id loop
      perform public.write_back_block_changed(new.user_id, new.id, v_block.block_index);
    end loop;
  end if;
  return null;
end
$$;
create trigger sessions_write_back
  after update on public.sessions
  for each row execute function public.sessions_write_back();

-- Write-back turned on, off, or pointed elsewhere (Google: the user's preferences; Notion: the
-- connection's settings): every block is queued for the current targets, and what was written
-- to targets no longer in use is queued for deletion.
create or replace function public.write_back_retarget(p_user_id uuid) returns void
language plpgsql volatile set search_path to '' as $$
declare
  v_link record;
  v_block record;
begin
  for v_link in
    select l.*, c.provider from public.write_back_links l
    join public.calendar_connections c on c.id = l.connection_id
    where l.user_id = p_user_id and l.status = 'live'
      and (l.connection_id, l.calendar_id) not in (
        select t.connection_id, t.calendar from public.write_back_targets(p_user_id) t)
  loop
    perform public.write_back_enqueue(p_user_id, v_link.connection_id, v_link.provider,
      v_link.calendar_id, v_link.block_key, null);
  end loop;
  for v_block in
    select b.session_id, b.block_index from public.session_blocks b
    join public.sessions s on s.id = b.session_id
    where b.user_id = p_user_id and s.status in ('scheduled', 'unscheduled')
  loop
    perform public.write_back_block_changed(p_user_id, v_block.session_id, v_block.block_index);
  end loop;
end
$$;

create or replace function public.preferences_write_back() returns trigger
language plpgsql security definer set search_path to '' as $$
begin
  if tg_op = 'UPDATE' and new.write_back_enabled is not distinct from old.write_back_enabled
    and new.write_back_calendar is not distinct from old.write_back_calendar then
    return null;
  end if;
  perform public.write_back_retarget(new.user_id);
  return null;
end
$$;
create trigger preferences_write_back
  after insert or update on public.scheduling_preferences
  for each row execute function public.preferences_write_back();

-- A Notion connection's write-back switched on or off (connect with write_back), or a connection
-- that is a write-back target became usable again or went away.
create or replace function public.connections_write_back() returns trigger
language plpgsql security definer set search_path to '' as $$
begin
  if tg_op = 'UPDATE'
    and (new.settings ->> 'write_back') is not distinct from (old.settings ->> 'write_back')
    and (new.settings ->> 'data_source_id') is not distinct from (old.settings ->> 'data_source_id')
  then
    return null;
  end if;
  if new.provider = 'notion' and (tg_op = 'UPDATE' or (new.settings ->> 'write_back')::boolean)
  then
    perform public.write_back_retarget(new.user_id);
  end if;
  return null;
end
$$;
create trigger connections_write_back
  after insert or update of settings on public.calendar_connections
  for each row execute function public.connections_write_back();

-- The kick: once per transaction that queued something, ask the processor to run (pg_net sends
-- it after commit, so a rolled-back change kicks nothing).
create or replace function public.outbound_queue_kick() returns trigger
language plpgsql security definer set search_path to '' as $$
begin
  if coalesce(current_setting('app.outbound_kicked', true), '') <> 'yes' then
    perform set_config('app.outbound_kicked', 'yes', true);
    perform public.invoke_edge_function('process-outbound-queue', '{"trigger": "kick"}');
  end if;
  return null;
end
$$;
create trigger outbound_queue_kick
  after insert on public.outbound_queue
  for each statement execute function public.outbound_queue_kick();

revoke execute on function public.session_blocks_write_back(), public.sessions_write_back(),
  public.preferences_write_back(), public.connections_write_back(),
  public.write_back_retarget(uuid), public.outbound_queue_kick()
  from public, anon, authenticated;

-- ---------------------------------------------------------------------------------------------
-- Draining.

-- Claims up to p_limit due items (oldest first), never two items of one target at once, for
-- p_visibility_seconds (a crashed batch reappears after that). Each comes with its connection
-- (token ciphertexts) and the target's current link.
create or replace function public.outbound_claim(
  p_limit integer default 20, p_visibility_seconds integer default 120
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_now timestamptz := public.app_now();
  v_claim uuid := gen_random_uuid();
  v_items jsonb;
begin
  with due as (
    select q.id from public.outbound_queue q
    where (q.status = 'PENDING' or (q.status = 'PROCESSING' and q.claimed_until < v_now))
      and q.next_attempt_at <= v_now
      and not exists (
        select 1 from public.outbound_queue other
        where other.id <> q.id and other.status = 'PROCESSING' and other.claimed_until >= v_now
          and other.connection_id is not distinct from q.connection_id
          and other.target_calendar = q.target_calendar and other.target_key = q.target_key)
    order by q.next_attempt_at, q.id
    limit p_limit
    for update of q skip locked
  ),
  claimed as (
    update public.outbound_queue q
      set status = 'PROCESSING', claim = v_claim,
          claimed_until = v_now + make_interval(secs => p_visibility_seconds)
      from due where q.id = due.id
      returning q.*)
  select coalesce(jsonb_agg(jsonb_build_object(
      'id', c.id, 'claim', c.claim, 'user_id', c.user_id, 'connection_id', c.connection_id,
      'provider', c.provider, 'operation', c.operation, 'target_calendar', c.target_calendar,
      'target_key', c.target_key, 'desired', c.desired, 'credential', c.credential,
      'attempts', c.attempts,
      'connection', (select jsonb_build_object('id', k.id, 'user_id', k.user_id,
          'provider', k.provider, 'status', k.status,
          'external_account_id', k.external_account_id, 'settings', k.settings,
          'refresh_token_encrypted', k.refresh_token_encrypted,
          'access_token_encrypted', k.access_token_encrypted,
          'access_token_expires_at', k.access_token_expires_at)
        from public.calendar_connections k where k.id = c.connection_id),
      'link', (select to_jsonb(l) from public.write_back_links l
        where l.connection_id = c.connection_id and l.block_key = c.target_key
          and l.calendar_id = c.target_calendar))
      order by c.next_attempt_at, c.id), '[]'::jsonb)
    into v_items from claimed c;
  return v_items;
end
$$;

-- A claimed item is done. p_link: the provider's answer for a block ({calendar_id,
-- external_id, id_version, etag, title, starts_at, ends_at, deleted}) recorded as the link.
create or replace function public.outbound_complete(
  p_id bigint, p_claim uuid, p_link jsonb default null, p_note text default null
) returns boolean
language plpgsql volatile set search_path to '' as $$
declare
  v_item public.outbound_queue;
begin
  -- A done item needs no credential: a release's sealed grant goes the moment it is used up.
  update public.outbound_queue
    set status = 'COMPLETED', completed_at = public.app_now(), claim = null,
        claimed_until = null, last_error = null, note = p_note, credential = null
    where id = p_id and claim = p_claim and status = 'PROCESSING'
    returning * into v_item;
  if not found then
    return false;
  end if;
  if p_link is not null then
    insert into public.write_back_links as l (connection_id, calendar_id, block_key, user_id,
      session_id, block_index, external_id, id_version, etag, written_title, written_starts_at,
      written_ends_at, written_at, status)
    values (v_item.connection_id, p_link ->> 'calendar_id', v_item.target_key, v_item.user_id,
      (v_item.desired ->> 'session_id')::uuid, (v_item.desired ->> 'block_index')::integer,
      p_link ->> 'external_id', coalesce((p_link ->> 'id_version')::integer, 1),
      p_link ->> 'etag', p_link ->> 'title', (p_link ->> 'starts_at')::timestamptz,
      (p_link ->> 'ends_at')::timestamptz, public.app_now(),
      case when (p_link ->> 'deleted')::boolean then 'deleted' else 'live' end)
    on conflict (connection_id, calendar_id, block_key) do update set
      external_id = excluded.external_id, id_version = excluded.id_version,
      etag = excluded.etag, written_title = excluded.written_title,
      written_starts_at = excluded.written_starts_at, written_ends_at = excluded.written_ends_at,
      written_at = excluded.written_at, status = excluded.status;
  end if;
  return true;
end
$$;

-- A claimed item failed. Transient (p_permanent false): back off (capped exponential with
-- jitter, or the provider's Retry-After) until p_max_attempts, then FAILED. Permanent: FAILED.
create or replace function public.outbound_retry(
  p_id bigint,
  p_claim uuid,
  p_error text,
  p_retry_after_seconds numeric default null,
  p_permanent boolean default false,
  p_max_attempts integer default 8
) returns text
language plpgsql volatile set search_path to '' as $$
declare
  v_item public.outbound_queue;
  v_delay numeric;
begin
  select * into v_item from public.outbound_queue
    where id = p_id and claim = p_claim and status = 'PROCESSING' for update;
  if not found then
    return 'lost';
  end if;
  if p_permanent or v_item.attempts + 1 >= p_max_attempts then
    update public.outbound_queue
      set status = 'FAILED', attempts = attempts + 1, last_error = p_error, claim = null,
          claimed_until = null
      where id = p_id;
    return 'failed';
  end if;
  -- 2 s · 2^attempts, at most 15 min, full jitter; never sooner than the provider asked.
  v_delay := greatest(coalesce(p_retry_after_seconds, 0),
    random() * least(900, 2 * power(2, v_item.attempts)));
  -- A newer desired state queued meanwhile (coalesced into a waiting row) supersedes this one.
  if exists (select 1 from public.outbound_queue w where w.id <> p_id and w.status = 'PENDING'
      and w.connection_id is not distinct from v_item.connection_id
      and w.target_calendar = v_item.target_calendar and w.target_key = v_item.target_key) then
    update public.outbound_queue
      set status = 'COMPLETED', completed_at = public.app_now(), claim = null,
          claimed_until = null, note = 'superseded by a newer change', last_error = p_error
      where id = p_id;
    return 'superseded';
  end if;
  update public.outbound_queue
    set status = 'PENDING', attempts = attempts + 1, last_error = p_error, claim = null,
        claimed_until = null, next_attempt_at = public.app_now() + make_interval(secs => v_delay)
    where id = p_id;
  return 'retry';
end
$$;

-- invalid_grant: the connection needs re-authorisation; its waiting items are HELD (nothing is
-- lost) and released when the user reconnects.
create or replace function public.outbound_hold_connection(
  p_connection_id uuid, p_error text
) returns integer
language plpgsql volatile set search_path to '' as $$
declare
  v_held integer;
begin
  perform public.connection_mark_needs_reauth(p_connection_id, p_error);
  -- A processing item whose target already has a waiting one is superseded by it.
  update public.outbound_queue q
    set status = 'COMPLETED', completed_at = public.app_now(), claim = null,
        claimed_until = null, note = 'superseded by a newer change'
    where q.connection_id = p_connection_id and q.status = 'PROCESSING'
      and exists (select 1 from public.outbound_queue w where w.status in ('PENDING', 'HELD')
        and w.connection_id = q.connection_id and w.target_calendar = q.target_calendar
        and w.target_key = q.target_key);
  update public.outbound_queue
    set status = 'HELD', claim = null, claimed_until = null, last_error = p_error
    where connection_id = p_connection_id and status in ('PENDING', 'PROCESSING');
  get diagnostics v_held = row_count;
  return v_held;
end
$$;

create or replace function public.connections_release_held() returns trigger
language plpgsql security definer set search_path to '' as $$
begin
  if new.status = 'active' and old.status is distinct from 'active' then
    update public.outbound_queue
      set status = 'PENDING', next_attempt_at = now(), attempts = 0
      where connection_id = new.id and status = 'HELD';
    if found then
      perform public.invoke_edge_function('process-outbound-queue', '{"trigger": "kick"}');
    end if;
  end if;
  return null;
end
$$;
revoke execute on function public.connections_release_held() from public, anon, authenticated;
create trigger connections_release_held
  after update of status on public.calendar_connections
  for each row execute function public.connections_release_held();

-- The planned calendar of a Google connection, created by the first write: the first creator's
-- calendar wins (a concurrent creator deletes its own). Returns the winning id.
create or replace function public.write_back_set_planned_calendar(
  p_connection_id uuid, p_calendar_id text
) returns text
language sql volatile set search_path to '' as $$
  update public.calendar_connections
    set settings = settings || jsonb_build_object('planned_calendar_id',
      coalesce(settings ->> 'planned_calendar_id', p_calendar_id))
    where id = p_connection_id
    returning settings ->> 'planned_calendar_id'
$$;

-- ---------------------------------------------------------------------------------------------
-- Our events coming back: echo, or a person speaking.

-- A person changed (or deleted) one of our events. Decides who wins when the app also changed
-- the block since the last exchange (a waiting or in-flight write for it): the later change,
-- by each side's own time. The person winning: the session takes the new time and is locked
-- (or, deleted, is planned after that time), the waiting write is superseded, and the user's
-- plan is marked. The app winning: the write goes ahead over the person's version (the link
-- learns the new etag). Either way, a conflict row records both versions. Returns 'echo',
-- 'provider' or 'app'.
create or replace function public.write_back_provider_changed(
  p_connection_id uuid,
  p_calendar_id text,
  p_external_id text,
  p_etag text,
  p_title text,
  p_starts_at timestamptz,
  p_ends_at timestamptz,
  p_deleted boolean,
  p_changed_at timestamptz
) returns text
language plpgsql volatile set search_path to '' as $$
declare
  v_link public.write_back_links;
  v_pending public.outbound_queue;
  v_provider jsonb;
  v_app jsonb;
begin
  select * into v_link from public.write_back_links
    where connection_id = p_connection_id and calendar_id = p_calendar_id
      and external_id = p_external_id and status = 'live'
    for update;
  if not found then
    return 'echo';
  end if;
  select * into v_pending from public.outbound_queue
    where connection_id = p_connection_id and target_calendar = p_calendar_id
      and target_key = v_link.block_key and status in ('PENDING', 'PROCESSING', 'HELD')
    order by id desc limit 1;
  -- Echo: what we wrote, or what we are writing, came back.
  if not p_deleted and (
      (p_starts_at = v_link.written_starts_at and p_ends_at = v_link.written_ends_at
        and p_title is not distinct from v_link.written_title)
      or (v_pending.id is not null and v_pending.operation = 'upsert_block'
        and p_starts_at = (v_pending.desired ->> 'starts_at')::timestamptz
        and p_ends_at = (v_pending.desired ->> 'ends_at')::timestamptz)) then
    update public.write_back_links set etag = coalesce(p_etag, etag)
      where connection_id = v_link.connection_id and calendar_id = v_link.calendar_id
        and block_key = v_link.block_key;
    return 'echo';
  end if;
  if p_deleted and v_pending.id is not null and v_pending.operation = 'delete_block' then
    return 'echo';
  end if;

  v_provider := jsonb_build_object('external_id', p_external_id, 'etag', p_etag,
    'title', p_title, 'starts_at', p_starts_at, 'ends_at', p_ends_at, 'deleted', p_deleted,
    'changed_at', p_changed_at);
  if v_pending.id is not null then
    v_app := v_pending.desired || jsonb_build_object('operation', v_pending.operation);
    if (v_pending.desired ->> 'changed_at')::timestamptz > coalesce(p_changed_at, '-infinity') then
      insert into public.sync_conflicts (user_id, connection_id, block_key, app_version,
        provider_version, winner, reason)
      values (v_link.user_id, p_connection_id, v_link.block_key, v_app, v_provider, 'app',
        'both changed the block since the last exchange; the app''s change is later');
      update public.write_back_links set etag = coalesce(p_etag, etag)
        where connection_id = v_link.connection_id and calendar_id = v_link.calendar_id
          and block_key = v_link.block_key;
      return 'app';
    end if;
    insert into public.sync_conflicts (user_id, connection_id, block_key, app_version,
      provider_version, winner, reason)
    values (v_link.user_id, p_connection_id, v_link.block_key, v_app, v_provider, 'provider',
      'both changed the block since the last exchange; the calendar''s change is later');
    update public.outbound_queue
      set status = 'COMPLETED', completed_at = public.app_now(), claim = null,
          claimed_until = null, note = 'superseded by an edit in the calendar'
      where id = v_pending.id;
  end if;

  if p_deleted then
    -- Deleted: "not at this time". The link goes first, so removing the block queues nothing.
    update public.write_back_links set status = 'deleted', etag = p_etag
      where connection_id = v_link.connection_id and calendar_id = v_link.calendar_id
        and block_key = v_link.block_key;
    update public.sessions
      set earliest_start = greatest(coalesce(earliest_start, '-infinity'), v_link.written_ends_at)
      where id = v_link.session_id;
    delete from public.session_blocks
      where session_id = v_link.session_id and block_index = v_link.block_index;
  else
    -- Moved or resized: the session takes the new time and is locked there.
    update public.write_back_links
      set etag = p_etag, written_title = coalesce(p_title, written_title),
          written_starts_at = p_starts_at, written_ends_at = p_ends_at,
          written_at = public.app_now()
      where connection_id = v_link.connection_id and calendar_id = v_link.calendar_id
        and block_key = v_link.block_key;
    update public.session_blocks set starts_at = p_starts_at, ends_at = p_ends_at
      where session_id = v_link.session_id and block_index = v_link.block_index;
    update public.sessions set locked = true, status = 'scheduled', unscheduled_reason = null
      where id = v_link.session_id and status in ('scheduled', 'unscheduled');
  end if;
  perform public.schedule_mark_plan_needed(v_link.user_id, 'calendar_change');
  return 'provider';
end
$$;

-- Run by sync_store_page for every page: our events (app_tag set) and removed ids are checked
-- against the links. Returns how many were a person's change.
create or replace function public.write_back_reconcile(
  p_connection_id uuid, p_calendar_id text, p_items jsonb, p_removed_ids text[]
) returns integer
language plpgsql volatile set search_path to '' as $$
declare
  v_item record;
  v_id text;
  v_changed integer := 0;
begin
  if not exists (select 1 from public.write_back_links
      where connection_id = p_connection_id and calendar_id = p_calendar_id) then
    return 0;
  end if;
  for v_item in
    select * from jsonb_to_recordset(coalesce(p_items, '[]'::jsonb)) as x(external_id text,
      app_tag text, etag text, summary text, starts_at timestamptz, ends_at timestamptz,
      external_updated_at timestamptz)
    where x.app_tag is not null
  loop
    if public.write_back_provider_changed(p_connection_id, p_calendar_id, v_item.external_id,
        v_item.etag, v_item.summary, v_item.starts_at, v_item.ends_at, false,
        v_item.external_updated_at) <> 'echo' then
      v_changed := v_changed + 1;
    end if;
  end loop;
  foreach v_id in array coalesce(p_removed_ids, '{}') loop
    if public.write_back_provider_changed(p_connection_id, p_calendar_id, v_id, null, null,
        null, null, true, null) <> 'echo' then
      v_changed := v_changed + 1;
    end if;
  end loop;
  return v_changed;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Housekeeping.

create or replace function public.outbound_cleanup() returns integer
language plpgsql volatile set search_path to '' as $$
declare
  v_deleted integer;
begin
  delete from public.outbound_queue
    where status = 'COMPLETED' and completed_at < public.app_now() - interval '7 days';
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;

-- Seconds until the next waiting item is due (0: now; null: nothing waits).
create or replace function public.outbound_next_due_seconds() returns numeric
language sql stable set search_path to '' as $$
  -- (greatest() ignores nulls: an empty queue must stay null, not "due now".)
  select case when min(next_attempt_at) is null then null
    else greatest(0, extract(epoch from min(next_attempt_at) - public.app_now())) end
  from public.outbound_queue
  where status = 'PENDING' or (status = 'PROCESSING' and claimed_until < public.app_now())
$$;

create or replace function public.outbound_due() returns boolean
language sql stable set search_path to '' as $$
  select exists (select 1 from public.outbound_queue
    where (status = 'PENDING' or (status = 'PROCESSING' and claimed_until < public.app_now()))
      and next_attempt_at <= public.app_now())
$$;

select public.restrict_to_service_role(
  'public.write_back_targets(uuid)',
  'public.write_back_enqueue(uuid, uuid, text, text, text, jsonb)',
  'public.write_back_desired(uuid, integer)',
  'public.write_back_block_changed(uuid, uuid, integer)',
  'public.outbound_claim(integer, integer)',
  'public.outbound_complete(bigint, uuid, jsonb, text)',
  'public.outbound_retry(bigint, uuid, text, numeric, boolean, integer)',
  'public.outbound_hold_connection(uuid, text)',
  'public.write_back_set_planned_calendar(uuid, text)',
  'public.write_back_provider_changed(uuid, text, text, text, text, timestamptz, timestamptz, boolean, timestamptz)',
  'public.write_back_reconcile(uuid, text, jsonb, text[])',
  'public.outbound_cleanup()',
  'public.outbound_next_due_seconds()',
  'public.outbound_due()');

do $$
declare
  v_job text;
begin
  foreach v_job in array array['process-outbound-queue', 'outbound-queue-cleanup'] loop
    if exists (select 1 from cron.job where jobname = v_job) then
      perform cron.unschedule(v_job);
    end if;
  end loop;
end
$$;
-- Every minute: items the kick missed, retries that came due, batches that died.
select cron.schedule('process-outbound-queue', '* * * * *',
  $$ select public.invoke_edge_function('process-outbound-queue', '{"trigger": "sweep"}')
     where public.outbound_due() $$);
-- Daily: completed items older than 7 days.
select cron.schedule('outbound-queue-cleanup', '41 4 * * *',
  $$ select public.outbound_cleanup() $$);
