-- Calendly on the provider-neutral core. A Calendly connection's "calendar" is its user URI; its
-- scheduled events are mirror rows (calendar_events, provider 'calendly'), so active meetings
-- are busy time through the one busy_intervals select. The names users know from the seed
-- (meetings, calendly_webhook_events, calendly_sync_state, calendly_sync_health,
-- clean_old_webhook_events) are views and functions over the core, so there is one source of
-- truth. What only Calendly has: invitees (several per scheduled event for group events), and
-- applying a signed delivery atomically.
--
-- Rollback: after 20261130000500's (20261130000600's notion_receive_event, rolled back before
-- this, calls webhook_record_delivery; 20261130000300's sync_cleanup calls
-- clean_old_webhook_events, see its note):
--   drop view public.calendly_sync_health, public.calendly_sync_state,
--     public.calendly_webhook_events, public.meetings;
--   drop policy "Users read their own deliveries" on public.webhook_deliveries;
--   revoke select on public.webhook_deliveries from authenticated;
--   drop table public.meeting_invitees;
--   drop function public.calendly_apply_delivery, public.calendly_delivery_candidates,
--     public.webhook_record_delivery, public.clean_old_webhook_events,
--     public.calendly_sync_state_update;
-- Data lost: the invitees of Calendly meetings (names, e-mails, cancellations); the meetings
-- themselves are mirror rows of 20261130000100 and stay. The views hold no data.

-- ---------------------------------------------------------------------------------------------
-- Invitees of a meeting (group events have several). An invitee's cancellation is final: a
-- delivery that arrives late never makes a canceled invitee active again.

create table public.meeting_invitees (
  id uuid primary key default gen_random_uuid(),
  meeting_id uuid not null references public.calendar_events (id) on delete cascade,
  connection_id uuid not null references public.calendar_connections (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  invitee_uri text not null unique,
  name text,
  email text,
  status text not null check (status in ('active', 'canceled')),
  rescheduled boolean not null default false,
  old_invitee text,
  new_invitee text,
  canceled_at timestamptz,
  cancel_reason text,
  external_created_at timestamptz,
  external_updated_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index meeting_invitees_meeting_idx on public.meeting_invitees (meeting_id);
create trigger meeting_invitees_set_updated_at
  before update on public.meeting_invitees
  for each row execute function public.set_updated_at();
alter table public.meeting_invitees enable row level security;
revoke all on public.meeting_invitees from anon, authenticated;
grant all on public.meeting_invitees to service_role;
grant select on public.meeting_invitees to authenticated;
create policy "Users read their own invitees" on public.meeting_invitees
  for select to authenticated using ((select auth.uid()) = user_id);

-- Users may see their own deliveries (not the payloads: those are for the service role only).
grant select (id, provider, dedupe_key, event_type, connection_id, user_id, received_at,
  processed_at, outcome, error) on public.webhook_deliveries to authenticated;
create policy "Users read their own deliveries" on public.webhook_deliveries
  for select to authenticated using ((select auth.uid()) = user_id);

-- ---------------------------------------------------------------------------------------------
-- The seed's names, over the core.

-- One row per Calendly scheduled event of the user.
create view public.meetings with (security_invoker = true) as
  select e.id, e.user_id, e.connection_id, e.external_id as external_uri, e.summary as name,
    e.starts_at, e.ends_at,
    case when e.status = 'cancelled' then 'canceled' else 'active' end as status,
    e.details -> 'location' as location,
    coalesce((e.details ->> 'synced_via_webhook')::boolean, false) as synced_via_webhook,
    (e.details ->> 'canceled_at')::timestamptz as canceled_at,
    e.details ->> 'cancel_reason' as cancel_reason,
    (e.details -> 'invitees_counter' ->> 'active')::integer as active_invitees,
    e.created_at, e.updated_at
  from public.calendar_events e
  where e.provider = 'calendly';
grant select on public.meetings to authenticated, service_role;

-- Calendly's deliveries: one row per delivery, deduplicated on `dedupe_key`.
create view public.calendly_webhook_events with (security_invoker = true) as
  select d.id, d.event_type, d.dedupe_key, d.payload, d.connection_id, d.user_id,
    d.received_at as created_at, d.received_at, d.processed_at, d.outcome, d.error
  from public.webhook_deliveries d
  where d.provider = 'calendly';
grant select on public.calendly_webhook_events to service_role;
grant select (id, event_type, dedupe_key, connection_id, user_id, created_at, received_at,
  processed_at, outcome, error) on public.calendly_webhook_events to authenticated;

-- One row per Calendly connection, with the seed's columns.
create view public.calendly_sync_state with (security_invoker = true) as
  select c.id as connection_id, c.user_id, c.external_account_id as calendly_user_uri,
    s.last_synced_at as last_calendly_sync,
    (s.last_full_sync_at is not null and not s.full_sync_required)
      as calendly_initial_sync_complete,
    exists (select 1 from public.calendar_webhook_channels ch
      where ch.connection_id = c.id and ch.status = 'active') as calendly_webhook_enabled,
    sub.channel_id as subscription_uri,
    sub.status as subscription_state,
    coalesce(s.last_error, c.last_error) as last_error
  from public.calendar_connections c
  left join public.calendar_sync_state s on s.connection_id = c.id
  left join lateral (
    select ch.channel_id, ch.status from public.calendar_webhook_channels ch
    where ch.connection_id = c.id and ch.status in ('active', 'disabled', 'pending')
    order by ch.status = 'active' desc, ch.created_at desc limit 1) sub on true
  where c.provider = 'calendly';
grant select on public.calendly_sync_state to authenticated, service_role;
grant update (calendly_initial_sync_complete) on public.calendly_sync_state to service_role;

-- `update calendly_sync_state set calendly_initial_sync_complete = false where user_id = …`
-- forces the next sync to be full, as in the seed.
create or replace function public.calendly_sync_state_update() returns trigger
language plpgsql set search_path to '' as $$
begin
  if new.calendly_initial_sync_complete is distinct from old.calendly_initial_sync_complete then
    update public.calendar_sync_state
      set full_sync_required = not coalesce(new.calendly_initial_sync_complete, false)
      where connection_id = old.connection_id;
  end if;
  return new;
end
$$;
revoke execute on function public.calendly_sync_state_update() from public, anon, authenticated;
create trigger calendly_sync_state_update
  instead of update on public.calendly_sync_state
  for each row execute function public.calendly_sync_state_update();

-- Per user, as the seed shows it.
create view public.calendly_sync_health with (security_invoker = true) as
  select c.user_id,
    min(c.display_name) as email,
    max(s.last_synced_at) as last_calendly_sync,
    bool_and(s.last_full_sync_at is not null and not s.full_sync_required)
      as calendly_initial_sync_complete,
    bool_or(exists (select 1 from public.calendar_webhook_channels ch
      where ch.connection_id = c.id and ch.status = 'active')) as calendly_webhook_enabled,
    (select count(*) from public.calendar_events e
      where e.user_id = c.user_id and e.provider = 'calendly' and e.status <> 'cancelled')
      as active_calendly_meetings,
    (select count(*) from public.calendar_events e
      where e.user_id = c.user_id and e.provider = 'calendly'
        and (e.details ->> 'synced_via_webhook')::boolean) as webhook_synced_meetings
  from public.calendar_connections c
  left join public.calendar_sync_state s on s.connection_id = c.id
  where c.provider = 'calendly'
  group by c.user_id;
grant select on public.calendly_sync_health to authenticated, service_role;

-- Deletes webhook deliveries older than 30 days; returns how many. Run daily (calendar-sync-
-- cleanup) and by hand as in the seed.
create or replace function public.clean_old_webhook_events() returns integer
language plpgsql volatile set search_path to '' as $$
declare
  v_deleted integer;
begin
  delete from public.webhook_deliveries where received_at < public.app_now() - interval '30 days';
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Deliveries.

-- Records a delivery once; false when its key was seen before (a redelivery). Used by every
-- provider's receiver; concurrent redeliveries of one body insert exactly one row.
create or replace function public.webhook_record_delivery(
  p_provider text,
  p_dedupe_key text,
  p_event_type text,
  p_payload jsonb,
  p_connection_id uuid default null,
  p_outcome text default 'applied'
) returns boolean
language plpgsql volatile set search_path to '' as $$
begin
  insert into public.webhook_deliveries (provider, dedupe_key, event_type, payload,
    connection_id, user_id, processed_at, outcome)
  select p_provider, p_dedupe_key, p_event_type, p_payload, p_connection_id,
    (select user_id from public.calendar_connections where id = p_connection_id),
    public.app_now(), p_outcome
  on conflict (provider, dedupe_key) do nothing;
  return found;
end
$$;

-- The signing keys a Calendly delivery may be signed with: the live subscriptions of the
-- active connections of the named Calendly users (sealed; opened by the function).
create or replace function public.calendly_delivery_candidates(p_user_uris text[]) returns jsonb
language sql stable set search_path to '' as $$
  select coalesce(jsonb_agg(jsonb_build_object('connection_id', c.id, 'user_id', c.user_id,
    'external_account_id', c.external_account_id, 'secret_encrypted', ch.secret_encrypted)
    order by c.id), '[]'::jsonb)
  from public.calendar_connections c
  left join public.calendar_webhook_channels ch
    on ch.connection_id = c.id and ch.status in ('active', 'pending', 'stopping')
  where c.provider = 'calendly' and c.external_account_id = any (p_user_uris)
$$;

-- Applies one verified Calendly delivery in ONE transaction: the delivery is recorded (a
-- redelivery changes nothing), the meeting is upserted as a mirror row (an older version never
-- replaces a newer one; synced_via_webhook kept), the invitee upserted (a cancellation is
-- final), and the user's plan marked if busy time changed.
create or replace function public.calendly_apply_delivery(
  p_connection_id uuid,
  p_dedupe_key text,
  p_event_type text,
  p_payload jsonb,
  p_item jsonb,
  p_invitee jsonb
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_connection public.calendar_connections;
  v_generation bigint;
  v_busy_changed boolean;
  v_meeting_id uuid;
begin
  if not public.webhook_record_delivery('calendly', p_dedupe_key, p_event_type, p_payload,
      p_connection_id) then
    return jsonb_build_object('duplicate', true);
  end if;
  select * into v_connection from public.calendar_connections where id = p_connection_id;
  select generation into v_generation from public.calendar_sync_state
    where connection_id = p_connection_id and calendar_id = v_connection.external_account_id;
  select m.busy_changed into v_busy_changed
    from public.mirror_apply_items(p_connection_id, v_connection.external_account_id,
      coalesce(v_generation, 0), jsonb_build_array(p_item)) m;
  select id into v_meeting_id from public.calendar_events
    where connection_id = p_connection_id and calendar_id = v_connection.external_account_id
      and external_id = p_item ->> 'external_id';
  insert into public.meeting_invitees as i (meeting_id, connection_id, user_id, invitee_uri, name,
    email, status, rescheduled, old_invitee, new_invitee, canceled_at, cancel_reason,
    external_created_at, external_updated_at)
  values (v_meeting_id, p_connection_id, v_connection.user_id, p_invitee ->> 'uri',
    p_invitee ->> 'name', p_invitee ->> 'email', p_invitee ->> 'status',
    coalesce((p_invitee ->> 'rescheduled')::boolean, false), p_invitee ->> 'old_invitee',
    p_invitee ->> 'new_invitee', (p_invitee ->> 'canceled_at')::timestamptz,
    p_invitee ->> 'cancel_reason', (p_invitee ->> 'created_at')::timestamptz,
    (p_invitee ->> 'updated_at')::timestamptz)
  on conflict (invitee_uri) do update set
    status = case when i.status = 'canceled' then 'canceled' else excluded.status end,
    rescheduled = i.rescheduled or excluded.rescheduled,
    old_invitee = coalesce(excluded.old_invitee, i.old_invitee),
    new_invitee = coalesce(excluded.new_invitee, i.new_invitee),
    canceled_at = coalesce(i.canceled_at, excluded.canceled_at),
    cancel_reason = coalesce(i.cancel_reason, excluded.cancel_reason),
    name = coalesce(excluded.name, i.name),
    email = coalesce(excluded.email, i.email),
    external_updated_at = greatest(i.external_updated_at, excluded.external_updated_at);
  if v_busy_changed then
    perform public.schedule_mark_plan_needed(v_connection.user_id, 'calendar_change');
  end if;
  return jsonb_build_object('duplicate', false, 'busy_changed', v_busy_changed,
    'meeting_id', v_meeting_id, 'user_id', v_connection.user_id);
end
$$;

select public.restrict_to_service_role(
  'public.clean_old_webhook_events()',
  'public.webhook_record_delivery(text, text, text, jsonb, uuid, text)',
  'public.calendly_delivery_candidates(text[])',
  'public.calendly_apply_delivery(uuid, text, text, jsonb, jsonb, jsonb)');
