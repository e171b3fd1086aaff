-- Scheduling: the sessions the app plans for a user, their placed blocks, the user's scheduling
-- preferences, one row per recalculation that changed something, and the per-user coalescing
-- state of recalculate-schedule. Everything the function must do atomically is one SQL
-- function here (mark / claim / finish a recalculation, apply a plan), callable by the service
-- role only.
--
-- Who writes what:
--   - users (RLS, own rows): sessions' own fields (title, duration, block limits, earliest
--     start, deadline, priority, locked, status done/cancelled or reopen), their preferences,
--     and blocks by hand (which locks the session: see session_blocks_lock_session);
--   - the function (service role): placement (status scheduled/unscheduled, unscheduled_reason,
--     the blocks of unlocked sessions), schedule_runs, schedule_recalc_state.
--
-- Rollback: after 20261130000300's (its cron jobs call these functions), and together with
-- 20261130000100's (whose sync_store_page marks plans through schedule_mark_plan_needed):
--   drop table public.session_blocks, public.sessions, public.schedule_recalc_state,
--     public.schedule_runs, public.scheduling_preferences;
--   drop function public.schedule_unserved_marks, public.schedule_users_to_plan,
--     public.schedule_apply_plan, public.schedule_finish_recalc, public.schedule_claim_recalc,
--     public.schedule_load_inputs, public.schedule_request_recalc,
--     public.schedule_mark_plan_needed, public.session_blocks_lock_session,
--     public.sessions_before_write, public.is_valid_working_hours, public.is_iana_time_zone;
-- Data lost: users' sessions and their placed blocks, their scheduling preferences and the
-- history of re-plans. Tables go first: their CHECK constraints and triggers use the functions.

-- ---------------------------------------------------------------------------------------------
-- Validation helpers (pure; used in CHECK constraints, so callable by everyone).

-- An IANA zone id PostgreSQL knows, in Area/Location form or UTC: not a POSIX TZ string
-- ('EST5EDT', 'UTC+3') and not an abbreviation. pg_timezone_names is read on each call; only
-- preference writes call it.
create or replace function public.is_iana_time_zone(p_time_zone text) returns boolean
language sql stable set search_path to '' as $$
  select p_time_zone is not null
    and (p_time_zone = 'UTC'
      or (p_time_zone ~ '^[A-Z][A-Za-z_-]+(/[A-Za-z0-9_+-]+){1,2}$'
        and p_time_zone !~ '^(posix|right|SystemV)/'
        and exists (select 1 from pg_catalog.pg_timezone_names where name = p_time_zone)))
$$;

-- working_hours: {"mon": [{"start": "09:00", "end": "12:00"}, ...], ...}; keys mon..sun, any
-- number of ranges per day, "HH:MM" with end after start (end may be "24:00"). The same rules as
-- parseWorkingHours in supabase/functions/_shared/scheduling/working_windows.ts.
create or replace function public.is_valid_working_hours(p_hours jsonb) returns boolean
language sql immutable set search_path to '' as $$
  select case
    when p_hours is null or jsonb_typeof(p_hours) <> 'object' then false
    else not exists (
      select 1 from jsonb_each(p_hours) as d (day, ranges)
      where d.day not in ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')
        or jsonb_typeof(d.ranges) <> 'array'
        or exists (
          select 1 from jsonb_array_elements(
            case when jsonb_typeof(d.ranges) = 'array' then d.ranges else '[]'::jsonb end) as r
          where jsonb_typeof(r) <> 'object'
            or jsonb_typeof(r -> 'start') is distinct from 'string'
            or jsonb_typeof(r -> 'end') is distinct from 'string'
            or (r ->> 'start') !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
            or (r ->> 'end') !~ '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$'
            or (r ->> 'end') <= (r ->> 'start')))
  end
$$;

-- ---------------------------------------------------------------------------------------------
-- Tables.

create table public.scheduling_preferences (
  user_id uuid primary key default auth.uid() references auth.users (id) on delete cascade,
  time_zone text not null default 'UTC' check (public.is_iana_time_zone(time_zone)),
  working_hours jsonb not null default '{
    "mon": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
    "tue": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
    "wed": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
    "thu": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
    "fri": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}]
  }'::jsonb check (public.is_valid_working_hours(working_hours)),
  buffer_before_minutes integer not null default 10 check (buffer_before_minutes between 0 and 240),
  buffer_after_minutes integer not null default 10 check (buffer_after_minutes between 0 and 240),
  freeze_hours integer not null default 12 check (freeze_hours between 0 and 168),
  -- At most 60: the planning job loads busy time for now - 2 days .. now + 64 days.
  horizon_days integer not null default 14 check (horizon_days between 1 and 60),
  tentative_is_busy boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.scheduling_preferences is
  'One row per user; a user without a row is planned with the column defaults (mirrored as DEFAULT_PREFERENCES in _shared/planning/inputs.ts).';

create table public.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title text not null check (length(title) between 1 and 500),
  duration_minutes integer not null check (duration_minutes between 1 and 10080),
  min_block_minutes integer check (min_block_minutes between 1 and 10080),
  max_block_minutes integer check (max_block_minutes between 1 and 10080),
  earliest_start timestamptz,
  deadline timestamptz,
  -- Lower = more important.
  priority integer not null default 2 check (priority between 0 and 1000),
  -- A user-placed or user-edited session never moves (the engine treats it as busy time).
  locked boolean not null default false,
  status text not null default 'unscheduled'
    check (status in ('scheduled', 'unscheduled', 'done', 'cancelled')),
  -- Why the last recalculation could not place it (see UnscheduledReason in types.ts).
  unscheduled_reason text,
  -- Bumped by every update (trigger); recalculate-schedule applies a plan only if the versions
  -- it read are still current.
  version bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (id, user_id),
  check (min_block_minutes is null or max_block_minutes is null
    or min_block_minutes <= max_block_minutes)
);
create index sessions_user_active_idx on public.sessions (user_id)
  where status in ('scheduled', 'unscheduled');

-- The placed block(s) of a session. block_key = `${session_id}:${block_index}`, the engine's
-- deterministic key (diff.ts). Blocks of done/cancelled sessions stay as history.
create table public.session_blocks (
  session_id uuid not null,
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  block_index integer not null check (block_index >= 0),
  block_key text generated always as (session_id::text || ':' || block_index::text) stored
    unique,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (session_id, block_index),
  -- The block belongs to a session of the same user.
  foreign key (session_id, user_id) references public.sessions (id, user_id) on delete cascade,
  check (ends_at > starts_at)
);
create index session_blocks_user_idx on public.session_blocks (user_id, starts_at);

create table public.schedule_runs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  trigger text not null check (trigger in
    ('calendar_change', 'manual', 'roll_forward', 'sessions_changed', 'preferences_changed')),
  -- The idempotency hash of the plan's inputs after this run (planning/input_hash.ts).
  input_hash text not null,
  forced boolean not null default false,
  moved integer not null default 0 check (moved >= 0),
  kept integer not null default 0 check (kept >= 0),
  placed integer not null default 0 check (placed >= 0),
  unscheduled integer not null default 0 check (unscheduled >= 0),
  -- [{"id": session id, "reason": UnscheduledReason}]
  unscheduled_detail jsonb not null default '[]'::jsonb
    check (jsonb_typeof(unscheduled_detail) = 'array'),
  duration_ms integer not null default 0 check (duration_ms >= 0),
  created_at timestamptz not null default now()
);
create index schedule_runs_user_idx on public.schedule_runs (user_id, created_at desc);

-- Coalescing: at most one recalculation per user runs (a lease, so a crashed run never blocks
-- the user for good); a request during a run sets needs_run, which the finishing run sees.
-- needs_run is also the durable "needs a plan" mark: set in the same transaction that changed
-- the user's busy time, and swept by pg_cron if nobody served it.
create table public.schedule_recalc_state (
  user_id uuid primary key references auth.users (id) on delete cascade,
  needs_run boolean not null default false,
  requested_at timestamptz,
  requested_trigger text,
  claim_token uuid,
  running_until timestamptz,
  last_input_hash text,
  last_local_date date,
  last_run_id uuid references public.schedule_runs (id) on delete set null,
  last_run_at timestamptz,
  last_error text,
  updated_at timestamptz not null default now()
);

-- ---------------------------------------------------------------------------------------------
-- Triggers.

create trigger scheduling_preferences_set_updated_at
  before update on public.scheduling_preferences
  for each row execute function public.set_updated_at();
create trigger session_blocks_set_updated_at
  before update on public.session_blocks
  for each row execute function public.set_updated_at();
create trigger schedule_recalc_state_set_updated_at
  before update on public.schedule_recalc_state
  for each row execute function public.set_updated_at();

-- Every update of a session bumps its version; signed-in users may only set the status to done
-- or cancelled, or reopen a done/cancelled session (back to unscheduled): scheduled/unscheduled
-- and unscheduled_reason are placement, written by the function (column privileges keep
-- unscheduled_reason and version out of users' reach).
create or replace function public.sessions_before_write() returns trigger
language plpgsql set search_path to '' as $$
begin
  if tg_op = 'UPDATE' then
    new.version := old.version + 1;
    new.updated_at := now();
  else
    new.version := 1;
  end if;
  if current_user = 'authenticated' then
    if tg_op = 'INSERT' then
      if new.status not in ('done', 'cancelled') then
        new.status := 'unscheduled';
      end if;
      new.unscheduled_reason := null;
    elsif new.status is distinct from old.status then
      if new.status in ('done', 'cancelled') then
        new.unscheduled_reason := null;
      elsif new.status = 'unscheduled' and old.status in ('done', 'cancelled') then
        -- Reopened: the next recalculation places it (or says why not).
        new.status := case when exists (
          select 1 from public.session_blocks b where b.session_id = new.id)
          and new.locked then 'scheduled' else 'unscheduled' end;
      else
        raise exception 'users may set a session''s status only to done or cancelled, or reopen it'
          using errcode = '42501';
      end if;
    end if;
  end if;
  return new;
end
$$;
revoke execute on function public.sessions_before_write() from public, anon, authenticated;
create trigger sessions_before_write
  before insert or update on public.sessions
  for each row execute function public.sessions_before_write();

-- A block placed, moved or removed by the user locks its session (it never moves again until the
-- user unlocks it) and bumps its version, so a recalculation that read the old blocks cannot
-- apply. Runs as the table owner so it may set the placement status; RLS on session_blocks has
-- already checked that the block (and so its session) is the user's.
create or replace function public.session_blocks_lock_session() returns trigger
language plpgsql security definer set search_path to '' as $$
declare
  v_session_id uuid := case when tg_op = 'DELETE' then old.session_id else new.session_id end;
begin
  update public.sessions s
    set locked = true,
        status = case
          when s.status in ('done', 'cancelled') then s.status
          when exists (select 1 from public.session_blocks b where b.session_id = s.id)
            then 'scheduled'
          else 'unscheduled' end,
        unscheduled_reason = null
    where s.id = v_session_id;
  if tg_op = 'UPDATE' and new.session_id <> old.session_id then
    update public.sessions set locked = true where id = old.session_id;
  end if;
  return null;
end
$$;
revoke execute on function public.session_blocks_lock_session() from public, anon, authenticated;
create trigger session_blocks_lock_session
  after insert or update or delete on public.session_blocks
  for each row when (current_user = 'authenticated')
  execute function public.session_blocks_lock_session();

-- ---------------------------------------------------------------------------------------------
-- Privileges and RLS. Supabase grants everything on new public tables to anon/authenticated by
-- default: revoke it all, grant back only what users may do, and let RLS pick their own rows.

alter table public.scheduling_preferences enable row level security;
alter table public.sessions enable row level security;
alter table public.session_blocks enable row level security;
alter table public.schedule_runs enable row level security;
alter table public.schedule_recalc_state enable row level security;

revoke all on public.scheduling_preferences, public.sessions, public.session_blocks,
  public.schedule_runs, public.schedule_recalc_state from anon, authenticated;
grant all on public.scheduling_preferences, public.sessions, public.session_blocks,
  public.schedule_runs, public.schedule_recalc_state to service_role;

grant select, delete on public.scheduling_preferences to authenticated;
grant insert (user_id, time_zone, working_hours, buffer_before_minutes, buffer_after_minutes,
  freeze_hours, horizon_days, tentative_is_busy) on public.scheduling_preferences to authenticated;
grant update (time_zone, working_hours, buffer_before_minutes, buffer_after_minutes,
  freeze_hours, horizon_days, tentative_is_busy) on public.scheduling_preferences to authenticated;

grant select, delete on public.sessions to authenticated;
grant insert (id, user_id, title, duration_minutes, min_block_minutes, max_block_minutes,
  earliest_start, deadline, priority, locked, status) on public.sessions to authenticated;
grant update (title, duration_minutes, min_block_minutes, max_block_minutes, earliest_start,
  deadline, priority, locked, status) on public.sessions to authenticated;

grant select, delete on public.session_blocks to authenticated;
grant insert (session_id, user_id, block_index, starts_at, ends_at)
  on public.session_blocks to authenticated;
grant update (starts_at, ends_at) on public.session_blocks to authenticated;

grant select on public.schedule_runs to authenticated;
grant select (user_id, needs_run, running_until, last_run_id, last_run_at, last_error, updated_at)
  on public.schedule_recalc_state to authenticated;

create policy "Users read their own preferences" on public.scheduling_preferences
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users create their own preferences" on public.scheduling_preferences
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy "Users update their own preferences" on public.scheduling_preferences
  for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy "Users delete their own preferences" on public.scheduling_preferences
  for delete to authenticated using ((select auth.uid()) = user_id);

create policy "Users read their own sessions" on public.sessions
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users create their own sessions" on public.sessions
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy "Users update their own sessions" on public.sessions
  for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy "Users delete their own sessions" on public.sessions
  for delete to authenticated using ((select auth.uid()) = user_id);

create policy "Users read their own blocks" on public.session_blocks
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users place blocks of their own sessions" on public.session_blocks
  for insert to authenticated with check ((select auth.uid()) = user_id);
create policy "Users move their own blocks" on public.session_blocks
  for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy "Users remove their own blocks" on public.session_blocks
  for delete to authenticated using ((select auth.uid()) = user_id);

create policy "Users read their own schedule runs" on public.schedule_runs
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Users read their own recalculation state" on public.schedule_recalc_state
  for select to authenticated using ((select auth.uid()) = user_id);

-- ---------------------------------------------------------------------------------------------
-- Recalculation: mark, claim (with the inputs), apply (and finish), finish (service role only).

-- The durable "needs a plan" mark, set in the transaction that changed what the plan depends
-- on (busy time, a human edit of a written-back block). Keeps the first unserved request time,
-- so the sweep can tell marks nobody served.
create or replace function public.schedule_mark_plan_needed(
  p_user_id uuid, p_trigger text default 'calendar_change'
) returns void
language sql volatile set search_path to '' as $$
  insert into public.schedule_recalc_state as st (user_id, needs_run, requested_at,
    requested_trigger)
  values (p_user_id, true, public.app_now(), p_trigger)
  on conflict (user_id) do update set
    needs_run = true,
    requested_at = coalesce(case when st.needs_run then st.requested_at end,
      excluded.requested_at),
    requested_trigger = excluded.requested_trigger
$$;

-- Marks the user's schedule as needing a recalculation (an explicit request). A user who does
-- not exist is P0002 user_not_found. Returns whether a run holds the user now.
create or replace function public.schedule_request_recalc(
  p_user_id uuid, p_trigger text default 'manual'
) returns jsonb
language plpgsql volatile set search_path to '' as $$
begin
  if not exists (select 1 from auth.users where id = p_user_id) then
    raise exception 'user % does not exist', p_user_id using errcode = 'P0002',
      hint = 'user_not_found';
  end if;
  perform public.schedule_mark_plan_needed(p_user_id, p_trigger);
  return (select jsonb_build_object('running',
      coalesce(st.claim_token is not null and st.running_until > public.app_now(), false))
    from public.schedule_recalc_state st where st.user_id = p_user_id);
end
$$;

-- Everything one recalculation reads, in one statement (one snapshot): the preferences (null:
-- use the defaults), the active sessions with their versions and blocks, and busy time from
-- public.busy_intervals (every provider) overlapping [p_from, p_to). Instants are epoch ms.
create or replace function public.schedule_load_inputs(
  p_user_id uuid, p_from timestamptz, p_to timestamptz
) returns jsonb
language sql stable set search_path to '' as $$
  select jsonb_build_object(
    'preferences', (
      select jsonb_build_object('time_zone', p.time_zone, 'working_hours', p.working_hours,
        'buffer_before_minutes', p.buffer_before_minutes,
        'buffer_after_minutes', p.buffer_after_minutes, 'freeze_hours', p.freeze_hours,
        'horizon_days', p.horizon_days, 'tentative_is_busy', p.tentative_is_busy,
        'updated_at', p.updated_at)
      from public.scheduling_preferences p where p.user_id = p_user_id),
    'sessions', coalesce((
      select jsonb_agg(jsonb_build_object(
        'id', s.id, 'title', s.title, 'duration_minutes', s.duration_minutes,
        'min_block_minutes', s.min_block_minutes, 'max_block_minutes', s.max_block_minutes,
        'earliest_start', (extract(epoch from s.earliest_start) * 1000)::bigint,
        'deadline', (extract(epoch from s.deadline) * 1000)::bigint,
        'priority', s.priority, 'locked', s.locked, 'status', s.status,
        'unscheduled_reason', s.unscheduled_reason, 'version', s.version,
        'blocks', coalesce((
          select jsonb_agg(jsonb_build_object('index', b.block_index,
            'start', (extract(epoch from b.starts_at) * 1000)::bigint,
            'end', (extract(epoch from b.ends_at) * 1000)::bigint) order by b.block_index)
          from public.session_blocks b where b.session_id = s.id), '[]'::jsonb))
        order by s.id)
      from public.sessions s
      where s.user_id = p_user_id and s.status in ('scheduled', 'unscheduled')), '[]'::jsonb),
    'busy', coalesce((
      select jsonb_agg(jsonb_build_object('source', bi.source, 'id', bi.source_id,
        'start', (extract(epoch from bi.starts_at) * 1000)::bigint,
        'end', (extract(epoch from bi.ends_at) * 1000)::bigint,
        'tentative', bi.is_tentative))
      from public.busy_intervals bi
      where bi.user_id = p_user_id and bi.ends_at > p_from and bi.starts_at < p_to), '[]'::jsonb))
$$;

-- Claims the user's recalculation if one is needed and none is running (or the running one's
-- lease ran out). Clearing needs_run here means a request during the run sets it again, which
-- the finish reports: exactly one follow-up, however many requests arrived. With p_from/p_to the
-- answer also carries the inputs (schedule_load_inputs), so a run starts in one round trip.
-- Returns null when not claimed.
create or replace function public.schedule_claim_recalc(
  p_user_id uuid,
  p_lease_seconds integer default 120,
  p_from timestamptz default null,
  p_to timestamptz default null
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_now timestamptz := public.app_now();
  v_state public.schedule_recalc_state;
begin
  update public.schedule_recalc_state
    set needs_run = false,
        requested_at = null,
        claim_token = gen_random_uuid(),
        running_until = v_now + make_interval(secs => greatest(p_lease_seconds, 1))
    where user_id = p_user_id
      and needs_run
      and (claim_token is null or running_until is null or running_until < v_now)
    returning * into v_state;
  if not found then
    return null;
  end if;
  return jsonb_build_object('claim_token', v_state.claim_token,
    'lease_until', v_state.running_until, 'last_input_hash', v_state.last_input_hash,
    'trigger', v_state.requested_trigger,
    'inputs', case when p_from is not null and p_to is not null
      then public.schedule_load_inputs(p_user_id, p_from, p_to) end);
end
$$;

-- Ends a claimed recalculation (only the holder of the claim can). Returns whether another
-- request arrived meanwhile; the caller then claims again and runs exactly one follow-up.
create or replace function public.schedule_finish_recalc(
  p_user_id uuid, p_claim_token uuid, p_error text default null
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_state public.schedule_recalc_state;
begin
  update public.schedule_recalc_state
    set claim_token = null, running_until = null, last_error = p_error,
        -- A failed run must run again (the sweep picks it up); nothing may be lost.
        needs_run = needs_run or p_error is not null,
        requested_at = case when needs_run or p_error is not null
          then coalesce(requested_at, public.app_now()) end
    where user_id = p_user_id and claim_token = p_claim_token
    returning * into v_state;
  if not found then
    -- The lease ran out and someone else holds the claim now: they pick up any request.
    return jsonb_build_object('finished', false, 'needs_run', false);
  end if;
  return jsonb_build_object('finished', true, 'needs_run', v_state.needs_run and p_error is null);
end
$$;

-- Applies one plan in ONE transaction, or nothing:
--   - one apply per user at a time (transaction advisory lock on the user);
--   - the caller must still hold the claim (p_claim_token), else 'lease_lost';
--   - optimistic concurrency: the active sessions and their versions must be exactly those the
--     plan was computed from (p_expected.sessions = {id: version}), and the preferences
--     unchanged (p_expected.preferences_updated_at), else 'conflict' (the caller re-plans);
--   - then the changed sessions' status/reason, their blocks (upserted by (session, index),
--     surplus deleted), an optional schedule_runs row (p_run; null = nothing changed and not
--     forced) and the state's last_input_hash / last_local_date;
--   - with p_finish, the claim is released in the same transaction and the answer says whether
--     another request arrived meanwhile (needs_run).
-- p_changes: [{id, status, unscheduled_reason, blocks: [{index, starts_at, ends_at}]}] with the
-- COMPLETE new block list of each changed session. Locked sessions' blocks are never changed
-- here (only their status/reason).
create or replace function public.schedule_apply_plan(
  p_user_id uuid,
  p_claim_token uuid,
  p_expected jsonb,
  p_input_hash text,
  p_local_date date,
  p_changes jsonb,
  p_run jsonb default null,
  p_finish boolean default false
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_mismatch integer;
  v_run_id uuid;
  v_change jsonb;
  v_locked boolean;
  v_finished jsonb;
begin
  perform pg_advisory_xact_lock(hashtextextended('schedule:' || p_user_id::text, 0));

  perform 1 from public.schedule_recalc_state
    where user_id = p_user_id and claim_token = p_claim_token
    for update;
  if not found then
    return jsonb_build_object('status', 'lease_lost');
  end if;

  -- Lock the user's active sessions, then compare them with what the plan read.
  perform 1 from public.sessions
    where user_id = p_user_id and status in ('scheduled', 'unscheduled')
    order by id
    for update;
  select count(*) into v_mismatch
  from (
    select s.id::text as id, s.version
      from public.sessions s
      where s.user_id = p_user_id and s.status in ('scheduled', 'unscheduled')
  ) cur
  full join (
    select e.key as id, (e.value #>> '{}')::bigint as version
      from jsonb_each(coalesce(p_expected -> 'sessions', '{}'::jsonb)) e
  ) exp using (id)
  where cur.version is distinct from exp.version;
  if v_mismatch > 0 or (
    select p.updated_at from public.scheduling_preferences p where p.user_id = p_user_id
  ) is distinct from (p_expected ->> 'preferences_updated_at')::timestamptz then
    return jsonb_build_object('status', 'conflict');
  end if;

  for v_change in select * from jsonb_array_elements(coalesce(p_changes, '[]'::jsonb)) loop
    update public.sessions
      set status = v_change ->> 'status',
          unscheduled_reason = v_change ->> 'unscheduled_reason'
      where id = (v_change ->> 'id')::uuid and user_id = p_user_id
        and status in ('scheduled', 'unscheduled')
        and (v_change ->> 'status') in ('scheduled', 'unscheduled')
      returning locked into v_locked;
    if not found then
      raise exception 'schedule_apply_plan: session % is not an active session of %',
        v_change ->> 'id', p_user_id using errcode = '22023';
    end if;
    -- A locked session's blocks are the user's: never touched here.
    continue when v_locked;
    delete from public.session_blocks b
      where b.session_id = (v_change ->> 'id')::uuid
        and b.block_index not in (
          select (x ->> 'index')::integer
          from jsonb_array_elements(coalesce(v_change -> 'blocks', '[]'::jsonb)) x);
    insert into public.session_blocks as b (session_id, user_id, block_index, starts_at, ends_at)
      select (v_change ->> 'id')::uuid, p_user_id, (x ->> 'index')::integer,
        (x ->> 'starts_at')::timestamptz, (x ->> 'ends_at')::timestamptz
      from jsonb_array_elements(coalesce(v_change -> 'blocks', '[]'::jsonb)) x
      on conflict (session_id, block_index) do update
        set starts_at = excluded.starts_at, ends_at = excluded.ends_at
        where b.starts_at is distinct from excluded.starts_at
          or b.ends_at is distinct from excluded.ends_at;
  end loop;

  if p_run is not null then
    insert into public.schedule_runs (user_id, trigger, input_hash, forced, moved, kept, placed,
      unscheduled, unscheduled_detail, duration_ms)
    values (p_user_id, p_run ->> 'trigger', p_input_hash,
      coalesce((p_run ->> 'forced')::boolean, false),
      coalesce((p_run ->> 'moved')::integer, 0), coalesce((p_run ->> 'kept')::integer, 0),
      coalesce((p_run ->> 'placed')::integer, 0),
      jsonb_array_length(coalesce(p_run -> 'unscheduled', '[]'::jsonb)),
      coalesce(p_run -> 'unscheduled', '[]'::jsonb),
      coalesce((p_run ->> 'duration_ms')::integer, 0))
    returning id into v_run_id;
  end if;

  update public.schedule_recalc_state
    set last_input_hash = p_input_hash,
        last_local_date = p_local_date,
        last_run_id = coalesce(v_run_id, last_run_id),
        last_run_at = case when v_run_id is null then last_run_at else now() end
    where user_id = p_user_id;

  if p_finish then
    v_finished := public.schedule_finish_recalc(p_user_id, p_claim_token, null);
  end if;
  return jsonb_build_object('status', 'applied', 'run_id', v_run_id,
    'needs_run', coalesce((v_finished ->> 'needs_run')::boolean, false));
end
$$;

-- The users the hourly roll-forward plans: everyone with an active session whose last applied
-- plan is from an earlier local date (in their zone) than today, or who was never planned.
-- One array (not a set of rows), so the API's max_rows never truncates it.
create or replace function public.schedule_users_to_plan() returns uuid[]
language sql stable set search_path to '' as $$
  select coalesce(array_agg(s.user_id order by s.user_id), '{}')
  from (select distinct user_id from public.sessions
        where status in ('scheduled', 'unscheduled')) s
  left join public.scheduling_preferences p on p.user_id = s.user_id
  left join public.schedule_recalc_state st on st.user_id = s.user_id
  where st.last_local_date is null
     or st.last_local_date < (public.app_now() at time zone coalesce(p.time_zone, 'UTC'))::date
$$;

-- The "needs a plan" marks nobody served: marked at least p_older_than_seconds ago and not
-- held by a live run. At most p_limit users, oldest first (one array: max_rows never cuts it).
create or replace function public.schedule_unserved_marks(
  p_older_than_seconds integer default 30, p_limit integer default 200
) returns uuid[]
language sql stable set search_path to '' as $$
  select coalesce(array_agg(user_id order by requested_at), '{}')
  from (
    select user_id, requested_at from public.schedule_recalc_state
    where needs_run
      and requested_at < public.app_now() - make_interval(secs => p_older_than_seconds)
      and (claim_token is null or running_until < public.app_now())
    order by requested_at
    limit p_limit) due
$$;

select public.restrict_to_service_role(
  'public.schedule_mark_plan_needed(uuid, text)',
  'public.schedule_request_recalc(uuid, text)',
  'public.schedule_load_inputs(uuid, timestamptz, timestamptz)',
  'public.schedule_claim_recalc(uuid, integer, timestamptz, timestamptz)',
  'public.schedule_finish_recalc(uuid, uuid, text)',
  'public.schedule_apply_plan(uuid, uuid, jsonb, text, date, jsonb, jsonb, boolean)',
  'public.schedule_users_to_plan()',
  'public.schedule_unserved_marks(integer, integer)');
