-- Disconnecting a connection, and deleting a user, without leaving anything live at a provider.
--
-- Both go through one step, connection_queue_release: in the same transaction that removes the
-- rows, it queues one 'revoke_token' item on the outbound queue carrying what is needed to act
-- on the account's behalf once the rows are gone (the sealed tokens and the natural key they are
-- bound to), the push channels / webhook subscriptions still live, and what write-back put in
-- the user's calendars (the "Planned sessions" calendar the bundle created, and the events it
-- wrote anywhere else). The outbound processor removes what was written, stops the channels and
-- then revokes the grant; it retries until all is done, so a provider outage loses nothing. A
-- planned block left behind would show the user's colleagues busy time that no plan backs any
-- more. The item's credential column is never readable by users.
--
-- connection_disconnect (the disconnect-calendar function): the mirror, sync state, channels
-- and write-back links go; waiting write-back items for the connection are dropped; the
-- connection stays as 'revoked' without tokens or planned calendar (reconnecting makes it active
-- again, and write-back then creates a new one); the user is marked for re-planning (the
-- connection's busy time is gone).
-- The auth.users trigger: the same release for every connection of a deleted user, before the
-- cascade removes the rows.
--
-- Rollback: first (the newest migration):
--   drop trigger auth_users_release_connections on auth.users;
--   drop function public.auth_users_release_connections, public.connection_disconnect,
--     public.connection_queue_release;
-- Data lost: none. Without it disconnect-calendar fails, and deleting a user no longer queues
-- the release of their grants and channels at the providers.

create or replace function public.connection_queue_release(p_connection_id uuid, p_reason text)
returns bigint
language plpgsql volatile set search_path to '' as $$
declare
  v_connection public.calendar_connections;
  v_channels jsonb;
  v_planned_calendar text;
  v_written jsonb;
  v_id bigint;
begin
  select * into v_connection from public.calendar_connections
    where id = p_connection_id for update;
  if not found then
    return null;
  end if;
  -- The planned calendar goes as a whole; events written elsewhere one by one.
  v_planned_calendar := v_connection.settings ->> 'planned_calendar_id';
  select coalesce(jsonb_agg(jsonb_build_object('calendar_id', l.calendar_id,
      'external_id', l.external_id) order by l.calendar_id, l.external_id), '[]'::jsonb)
    into v_written
    from public.write_back_links l
    where l.connection_id = p_connection_id and l.status = 'live'
      and l.calendar_id is distinct from v_planned_calendar;
  select coalesce(jsonb_agg(jsonb_build_object('calendar_id', ch.calendar_id,
      'channel_id', ch.channel_id, 'resource_id', ch.resource_id,
      'resource_uri', ch.resource_uri) order by ch.created_at), '[]'::jsonb)
    into v_channels
    from public.calendar_webhook_channels ch
    where ch.connection_id = p_connection_id and ch.status in ('pending', 'active', 'stopping');
  -- Write-back that has not happened yet cannot happen any more.
  delete from public.outbound_queue
    where connection_id = p_connection_id and status in ('PENDING', 'HELD')
      and operation in ('upsert_block', 'delete_block');
  if v_connection.refresh_token_encrypted is null and v_connection.access_token_encrypted is null
  then
    -- No grant to act with (already revoked): channels die with the grant at the provider.
    return null;
  end if;
  insert into public.outbound_queue (user_id, connection_id, provider, operation,
    target_calendar, target_key, desired, credential, note)
  values (v_connection.user_id, v_connection.id, v_connection.provider, 'revoke_token', '',
    'grant', jsonb_build_object('channels', v_channels, 'written', v_written,
      'planned_calendar_id', v_planned_calendar, 'settings', v_connection.settings),
    jsonb_build_object('provider', v_connection.provider, 'user_id', v_connection.user_id,
      'external_account_id', v_connection.external_account_id,
      'refresh_token_encrypted', v_connection.refresh_token_encrypted,
      'access_token_encrypted', v_connection.access_token_encrypted,
      'access_token_expires_at', v_connection.access_token_expires_at),
    p_reason)
  on conflict (connection_id, target_calendar, target_key) where status in ('PENDING', 'HELD')
  do update set desired = excluded.desired, credential = excluded.credential,
    note = excluded.note, status = 'PENDING', next_attempt_at = now(), attempts = 0
  returning id into v_id;
  return v_id;
end
$$;

-- Disconnects a connection. p_user_id: the caller when a user asks (someone else's connection
-- is "not found", never a hint that it exists); null for the service role.
create or replace function public.connection_disconnect(p_connection_id uuid, p_user_id uuid)
returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_connection public.calendar_connections;
  v_release bigint;
  v_channels integer;
  v_calendars integer;
begin
  select * into v_connection from public.calendar_connections
    where id = p_connection_id and (p_user_id is null or user_id = p_user_id) for update;
  if not found then
    raise exception 'connection % not found', p_connection_id using errcode = 'P0002',
      hint = 'connection_not_found';
  end if;
  v_release := public.connection_queue_release(p_connection_id, 'disconnected');
  -- What the queued release will stop (none when there is no grant left to act with).
  v_channels := coalesce((select jsonb_array_length(desired -> 'channels')
    from public.outbound_queue where id = v_release), 0);
  delete from public.calendar_webhook_channels where connection_id = p_connection_id;
  delete from public.calendar_events where connection_id = p_connection_id;
  delete from public.calendar_sync_state where connection_id = p_connection_id;
  get diagnostics v_calendars = row_count;
  delete from public.write_back_links where connection_id = p_connection_id;
  update public.calendar_connections
    set status = 'revoked', refresh_token_encrypted = null, access_token_encrypted = null,
        access_token_expires_at = null, token_refresh_claim = null, token_refresh_until = null,
        last_error = null, settings = settings - 'planned_calendar_id'
    where id = p_connection_id;
  perform public.schedule_mark_plan_needed(v_connection.user_id, 'calendar_change');
  return jsonb_build_object('connection_id', p_connection_id, 'provider', v_connection.provider,
    'status', 'revoked', 'calendars_removed', v_calendars, 'channels_to_stop', v_channels,
    'release_item', v_release);
end
$$;

-- A deleted user leaves nothing live at a provider: the release of each connection is queued
-- before the cascade removes the rows (the item outlives them: its connection_id and user_id
-- become null, its credential carries the binding).
create or replace function public.auth_users_release_connections() returns trigger
language plpgsql security definer set search_path to '' as $$
declare
  v_connection uuid;
begin
  for v_connection in
    select id from public.calendar_connections where user_id = old.id and status <> 'revoked'
  loop
    perform public.connection_queue_release(v_connection, 'user deleted');
  end loop;
  return old;
end
$$;
create trigger auth_users_release_connections
  before delete on auth.users
  for each row execute function public.auth_users_release_connections();

select public.restrict_to_service_role(
  'public.connection_queue_release(uuid, text)',
  'public.connection_disconnect(uuid, uuid)');
revoke execute on function public.auth_users_release_connections()
  from public, anon, authenticated;
