-- Notion on the provider-neutral core. A Notion connection is one integration bot of one user;
-- its "calendar" is the data source of the database it follows; dated pages are mirror rows
-- (calendar_events, provider 'notion') and so busy time through the one busy_intervals select.
-- What only Notion needs, all service-role only:
--   - the webhook verification tokens: Notion POSTs one, unsigned, when a person creates a
--     subscription in the integration's settings; the person reads it here (once) and pastes it
--     back into Notion; every later delivery is signed with it (HMAC-SHA256). A token verifies
--     deliveries only once the operator has read it ('trusted'), so a token anyone could POST
--     to the open endpoint is never trusted on its own;
--   - receiving a verified event in ONE transaction: deduplicated by the event id
--     (webhook_record_delivery), the followed data sources it concerns marked (sync_mark);
--   - the mirror snapshot the incremental poll compares against (see providers/notion/
--     strategy.ts), and following one data source per connection.
--
-- Rollback: after 20261130000700's (nothing in earlier migrations calls these):
--   drop function public.notion_follow_data_source, public.notion_mirror_snapshot,
--     public.notion_receive_event, public.notion_webhook_revoke_verification,
--     public.notion_webhook_verification_keys, public.notion_webhook_read_verifications,
--     public.notion_webhook_store_verification;
--   drop table public.notion_webhook_verifications;
-- Data lost: Notion's webhook verification tokens (after re-applying, "Resend token" in the
-- integration's webhook settings and read it again). Notion connections and their mirror rows
-- belong to 20261130000100: disconnect them first if Notion is going away.

-- ---------------------------------------------------------------------------------------------
-- Webhook verification tokens. token_encrypted is AES-256-GCM ciphertext made by the function
-- with TOKEN_ENCRYPTION_KEY (the database never sees the key); token_sha256 finds a token that
-- Notion sends again ("Resend token"). Lifecycle: pending (received, unread) → trusted (read by
-- the operator; verifies deliveries) → revoked (by the operator). A resent token is unread
-- again (the operator can read it again); a resent revoked token is pending again.

create table public.notion_webhook_verifications (
  id uuid primary key default gen_random_uuid(),
  token_sha256 text not null unique check (token_sha256 ~ '^[0-9a-f]{64}$'),
  token_encrypted text not null,
  status text not null default 'pending' check (status in ('pending', 'trusted', 'revoked')),
  times_received integer not null default 1,
  received_at timestamptz not null default now(),
  last_received_at timestamptz not null default now(),
  -- Null: not read since it was (last) received.
  read_at timestamptz,
  trusted_at timestamptz,
  revoked_at timestamptz,
  last_verified_at timestamptz
);
comment on table public.notion_webhook_verifications is
  'Notion webhook verification tokens (sealed). Read once by the operator through GET notion-webhook (service role); a token verifies signed deliveries only once read.';
alter table public.notion_webhook_verifications enable row level security;
revoke all on public.notion_webhook_verifications from public, anon, authenticated;
grant all on public.notion_webhook_verifications to service_role;

-- Stores a verification POST: a new token is pending and unread; a token sent again is unread
-- again. At most 20 pending tokens are kept (the endpoint is open: it cannot be filled up).
create or replace function public.notion_webhook_store_verification(
  p_token_sha256 text, p_token_encrypted text
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_row public.notion_webhook_verifications;
  v_now timestamptz := public.app_now();
begin
  insert into public.notion_webhook_verifications as v (token_sha256, token_encrypted,
    received_at, last_received_at)
  values (p_token_sha256, p_token_encrypted, v_now, v_now)
  on conflict (token_sha256) do update set
    times_received = v.times_received + 1,
    last_received_at = v_now,
    read_at = null,
    status = case when v.status = 'revoked' then 'pending' else v.status end,
    revoked_at = case when v.status = 'revoked' then null else v.revoked_at end
  returning * into v_row;
  delete from public.notion_webhook_verifications
    where status = 'pending' and id in (
      select id from public.notion_webhook_verifications where status = 'pending'
      order by last_received_at desc, id offset 20);
  return jsonb_build_object('id', v_row.id, 'times_received', v_row.times_received,
    'status', v_row.status);
end
$$;

-- The operator's read: every unread token (newest first), marked read and trusted. Read once:
-- the same token is answered again only after Notion sends it again.
create or replace function public.notion_webhook_read_verifications() returns jsonb
language sql volatile set search_path to '' as $$
  with unread as (
    update public.notion_webhook_verifications
      set read_at = public.app_now(), status = 'trusted',
          trusted_at = coalesce(trusted_at, public.app_now())
      where read_at is null and status <> 'revoked'
      returning id, token_encrypted, received_at, last_received_at, times_received)
  select coalesce(jsonb_agg(jsonb_build_object('id', id, 'token_encrypted', token_encrypted,
    'received_at', received_at, 'last_received_at', last_received_at,
    'times_received', times_received) order by last_received_at desc, id), '[]'::jsonb)
  from unread
$$;

-- The tokens that may verify a delivery (sealed; opened by the function).
create or replace function public.notion_webhook_verification_keys() returns jsonb
language sql stable set search_path to '' as $$
  select coalesce(jsonb_agg(jsonb_build_object('id', id, 'token_encrypted', token_encrypted)
    order by last_verified_at desc nulls last, id), '[]'::jsonb)
  from public.notion_webhook_verifications where status = 'trusted'
$$;

-- The operator withdraws a token (a subscription deleted in Notion). True if it was live.
create or replace function public.notion_webhook_revoke_verification(p_id uuid) returns boolean
language plpgsql volatile set search_path to '' as $$
begin
  update public.notion_webhook_verifications
    set status = 'revoked', revoked_at = public.app_now()
    where id = p_id and status <> 'revoked';
  return found;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Receiving a verified event in ONE transaction. p_parent_ids: the data source and database ids
-- the event names (its entity when that is a data source, data.parent.id and
-- data.parent.data_source_id); p_workspace_id: the envelope's workspace. The followed data
-- sources concerned are those named, or, when the event names none, every one followed in that
-- workspace. Returns {duplicate: true} for an event id seen before (nothing else happens), else
-- {duplicate: false, outcome: marked | unknown_account, targets: [{connection_id, calendar_id,
-- user_id, running}]} with each target marked as needing a sync (running: a sync holds it and
-- will run the follow-up itself).
create or replace function public.notion_receive_event(
  p_event_id text,
  p_event_type text,
  p_payload jsonb,
  p_workspace_id text,
  p_parent_ids text[],
  p_verification_id uuid default null
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_targets jsonb;
  v_first uuid;
  v_marked jsonb := '[]'::jsonb;
  v_target jsonb;
  v_mark jsonb;
begin
  select coalesce(jsonb_agg(jsonb_build_object('connection_id', s.connection_id,
      'calendar_id', s.calendar_id, 'user_id', s.user_id) order by s.connection_id, s.calendar_id),
      '[]'::jsonb)
    into v_targets
  from public.calendar_sync_state s
  join public.calendar_connections c on c.id = s.connection_id
  where c.provider = 'notion' and c.status = 'active' and c.sync_enabled
    and (p_workspace_id is null or c.settings ->> 'workspace_id' is null
      or c.settings ->> 'workspace_id' = p_workspace_id)
    and case when cardinality(coalesce(p_parent_ids, '{}')) > 0
      then s.calendar_id = any (p_parent_ids) or c.settings ->> 'database_id' = any (p_parent_ids)
      else p_workspace_id is not null and c.settings ->> 'workspace_id' = p_workspace_id end;

  v_first := (v_targets -> 0 ->> 'connection_id')::uuid;
  if not public.webhook_record_delivery('notion', p_event_id, p_event_type, p_payload, v_first,
      case when v_first is null then 'unknown_account' else 'applied' end) then
    return jsonb_build_object('duplicate', true);
  end if;
  if p_verification_id is not null then
    update public.notion_webhook_verifications set last_verified_at = public.app_now()
      where id = p_verification_id;
  end if;

  for v_target in select * from jsonb_array_elements(v_targets) loop
    v_mark := public.sync_mark((v_target ->> 'connection_id')::uuid, v_target ->> 'calendar_id');
    v_marked := v_marked || jsonb_build_array(v_target || jsonb_build_object('running',
      coalesce((v_mark -> 0 ->> 'running')::boolean, false)));
  end loop;
  return jsonb_build_object('duplicate', false,
    'outcome', case when v_first is null then 'unknown_account' else 'marked' end,
    'targets', v_marked);
end
$$;

-- ---------------------------------------------------------------------------------------------
-- The sync side.

-- The mirror rows of one followed data source starting at or after p_from (id, etag, start):
-- what the incremental poll compares with Notion's live pages. One array, no row cap.
create or replace function public.notion_mirror_snapshot(
  p_connection_id uuid, p_calendar_id text, p_from timestamptz
) returns jsonb
language sql stable set search_path to '' as $$
  select coalesce(jsonb_agg(jsonb_build_object('external_id', e.external_id, 'etag', e.etag,
    'starts_at', e.starts_at) order by e.starts_at, e.external_id), '[]'::jsonb)
  from public.calendar_events e
  where e.connection_id = p_connection_id and e.calendar_id = p_calendar_id
    and e.starts_at >= p_from
$$;

-- A connection follows ONE data source: following another forgets the previous one (its sync
-- state and its mirror rows; the user's plan is marked if that removed busy time), then the
-- data source is watched and marked for a FULL read (the date property or time zone may have
-- changed). Returns {forgotten: <mirror rows removed>}.
create or replace function public.notion_follow_data_source(
  p_connection_id uuid, p_data_source_id text, p_time_zone text
) returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_connection public.calendar_connections;
  v_forgotten integer;
  v_busy boolean;
begin
  select * into v_connection from public.calendar_connections
    where id = p_connection_id and provider = 'notion' for update;
  if not found then
    raise exception 'notion connection % does not exist', p_connection_id
      using errcode = 'P0002', hint = 'connection_not_found';
  end if;
  with gone as (
    delete from public.calendar_events
      where connection_id = p_connection_id and calendar_id <> p_data_source_id
      returning is_busy and not app_owned as busy)
  select count(*), coalesce(bool_or(busy), false) into v_forgotten, v_busy from gone;
  delete from public.calendar_sync_state
    where connection_id = p_connection_id and calendar_id <> p_data_source_id;
  if v_busy then
    perform public.schedule_mark_plan_needed(v_connection.user_id, 'calendar_change');
  end if;
  perform public.sync_watch_calendar(p_connection_id, p_data_source_id, p_time_zone);
  perform public.sync_mark(p_connection_id, p_data_source_id, true);
  return jsonb_build_object('forgotten', v_forgotten);
end
$$;

select public.restrict_to_service_role(
  'public.notion_webhook_store_verification(text, text)',
  'public.notion_webhook_read_verifications()',
  'public.notion_webhook_verification_keys()',
  'public.notion_webhook_revoke_verification(uuid)',
  'public.notion_receive_event(text, text, jsonb, text, text[], uuid)',
  'public.notion_mirror_snapshot(uuid, text, timestamptz)',
  'public.notion_follow_data_source(uuid, text, text)');
