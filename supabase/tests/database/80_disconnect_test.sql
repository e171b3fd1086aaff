-- Disconnect and user deletion: the rows go in one transaction with the queued release (remove
-- what write-back wrote, stop the channels, revoke the grant), someone else's connection is
-- "not found", another user's connection is untouched, and a deleted user's release outlives
-- their rows.
begin;
select plan(24);

select vault.create_secret('http://api.example.test', 'project_url')
  where not exists (select 1 from vault.decrypted_secrets where name = 'project_url');
select vault.create_secret('a-cron-secret-of-some-length', 'cron_secret')
  where not exists (select 1 from vault.decrypted_secrets where name = 'cron_secret');

select ok(not has_function_privilege('authenticated', 'public.connection_disconnect(uuid, uuid)',
  'execute'), 'users disconnect through the function, not the RPC');

insert into auth.users (id, email) values
  ('11111111-1111-1111-1111-111111111111', 'a@example.test'),
  ('22222222-2222-2222-2222-222222222222', 'b@example.test');
insert into public.calendar_connections (id, user_id, provider, external_account_id,
  refresh_token_encrypted, access_token_encrypted, access_token_expires_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111', 'google',
   'a@example.test', 'sealed-refresh-a', 'sealed-access-a', now() + interval '1 hour'),
  ('bbbbbbbb-0000-0000-0000-000000000001', '22222222-2222-2222-2222-222222222222', 'google',
   'b@example.test', 'sealed-refresh-b', null, null);
insert into public.calendar_sync_state (connection_id, calendar_id, user_id, needs_sync)
select c, cal, u, false from (values
  ('aaaaaaaa-0000-0000-0000-000000000001'::uuid, 'primary',
   '11111111-1111-1111-1111-111111111111'::uuid),
  ('aaaaaaaa-0000-0000-0000-000000000001', 'team', '11111111-1111-1111-1111-111111111111'),
  ('bbbbbbbb-0000-0000-0000-000000000001', 'primary', '22222222-2222-2222-2222-222222222222'))
  as t(c, cal, u);
insert into public.calendar_webhook_channels (provider, connection_id, user_id, calendar_id,
  channel_id, resource_id, token_hash, status, expiration) values
  ('google', 'aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111',
   'primary', 'ch-a1', 'res-a1', 'h', 'active', now() + interval '6 days'),
  ('google', 'aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111',
   'team', 'ch-a2', 'res-a2', 'h', 'pending', null),
  ('google', 'aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111',
   'team', 'ch-a-old', 'res-a0', 'h', 'stopped', now() - interval '1 day'),
  ('google', 'bbbbbbbb-0000-0000-0000-000000000001', '22222222-2222-2222-2222-222222222222',
   'primary', 'ch-b1', 'res-b1', 'h', 'active', now() + interval '6 days');
insert into public.calendar_events (provider, connection_id, user_id, calendar_id, external_id,
  starts_at, ends_at, is_busy) values
  ('google', 'aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111',
   'primary', 'e1', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z', true),
  ('google', 'bbbbbbbb-0000-0000-0000-000000000001', '22222222-2222-2222-2222-222222222222',
   'primary', 'e2', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z', true);
-- What write-back wrote for A: blocks in its planned calendar, one in the primary calendar, and
-- one the person already deleted.
update public.calendar_connections set settings = '{"planned_calendar_id": "planned-a"}'
  where id = 'aaaaaaaa-0000-0000-0000-000000000001';
insert into public.write_back_links (connection_id, calendar_id, block_key, user_id, session_id,
  block_index, external_id, status)
select 'aaaaaaaa-0000-0000-0000-000000000001', cal, key,
  '11111111-1111-1111-1111-111111111111', gen_random_uuid(), 0, ext, st
from (values ('planned-a', 'block-1', 'wbplanned1', 'live'),
  ('planned-a', 'block-2', 'wbplanned2', 'live'), ('primary', 'block-3', 'wbprimary3', 'live'),
  ('primary', 'block-4', 'wbprimary4', 'deleted')) as t(cal, key, ext, st);
-- A write-back still waiting for the connection.
insert into public.outbound_queue (user_id, connection_id, provider, operation, target_calendar,
  target_key) values ('11111111-1111-1111-1111-111111111111',
  'aaaaaaaa-0000-0000-0000-000000000001', 'google', 'upsert_block', 'planned', 'block-1');

-- Someone else's connection does not exist for the caller.
select throws_ok($$select public.connection_disconnect('aaaaaaaa-0000-0000-0000-000000000001',
  '22222222-2222-2222-2222-222222222222')$$, 'P0002', null,
  'a user cannot disconnect another user''s connection');
select is((select status from public.calendar_connections
  where id = 'aaaaaaaa-0000-0000-0000-000000000001'), 'active', 'and it is left as it was');

select is(public.connection_disconnect('aaaaaaaa-0000-0000-0000-000000000001',
  '11111111-1111-1111-1111-111111111111') - 'release_item',
  '{"connection_id": "aaaaaaaa-0000-0000-0000-000000000001", "provider": "google",
    "status": "revoked", "calendars_removed": 2, "channels_to_stop": 2}'::jsonb,
  'the owner disconnects: two calendars removed, two live channels to stop');
select is((select count(*)::int from public.calendar_events
  where connection_id = 'aaaaaaaa-0000-0000-0000-000000000001'), 0, 'the mirror is gone');
select is((select count(*)::int from public.calendar_sync_state
  where connection_id = 'aaaaaaaa-0000-0000-0000-000000000001'), 0, 'the sync state is gone');
select is((select count(*)::int from public.calendar_webhook_channels
  where connection_id = 'aaaaaaaa-0000-0000-0000-000000000001'), 0, 'the channel rows are gone');
select results_eq($$select status, refresh_token_encrypted, access_token_encrypted
  from public.calendar_connections where id = 'aaaaaaaa-0000-0000-0000-000000000001'$$,
  $$values ('revoked', null::text, null::text)$$, 'the connection is revoked, without tokens');
select is((select jsonb_agg(c ->> 'channel_id' order by c ->> 'channel_id')
  from public.outbound_queue q, jsonb_array_elements(q.desired -> 'channels') c
  where q.operation = 'revoke_token' and q.connection_id = 'aaaaaaaa-0000-0000-0000-000000000001'),
  '["ch-a1", "ch-a2"]'::jsonb, 'one release is queued with the live channels to stop');
select is((select credential ->> 'refresh_token_encrypted' from public.outbound_queue
  where operation = 'revoke_token'), 'sealed-refresh-a', 'carrying the sealed grant');
select is((select desired ->> 'planned_calendar_id' from public.outbound_queue
  where operation = 'revoke_token'), 'planned-a',
  'and the planned calendar, to remove as a whole');
select is((select desired -> 'written' from public.outbound_queue
  where operation = 'revoke_token'), '[{"calendar_id": "primary", "external_id": "wbprimary3"}]',
  'and each live event written outside it');
select is((select settings ? 'planned_calendar_id' from public.calendar_connections
  where id = 'aaaaaaaa-0000-0000-0000-000000000001'), false,
  'a reconnected connection will make a new planned calendar');
select is((select count(*)::int from public.outbound_queue where operation = 'upsert_block'), 0,
  'write-back that can no longer happen is dropped');
select ok((select needs_run from public.schedule_recalc_state
  where user_id = '11111111-1111-1111-1111-111111111111'), 'the user is re-planned');
select results_eq($$select count(*)::int from public.calendar_events
  where connection_id = 'bbbbbbbb-0000-0000-0000-000000000001'
  union all select count(*)::int from public.calendar_webhook_channels
  where connection_id = 'bbbbbbbb-0000-0000-0000-000000000001' and status = 'active'$$,
  $$values (1), (1)$$, 'another user''s connection is untouched');
select is(public.connection_disconnect('aaaaaaaa-0000-0000-0000-000000000001', null) ->>
  'release_item', null, 'disconnecting again has nothing left to release');

-- Once the release is done, its sealed grant goes with it.
select ok((select public.outbound_complete(q.id, q.claim, null, 'released')
  from (select (c ->> 'id')::bigint as id, (c ->> 'claim')::uuid as claim
    from jsonb_array_elements(public.outbound_claim(10, 60)) c
    where c ->> 'operation' = 'revoke_token') q), 'the processor completes the release');
select is((select credential from public.outbound_queue where operation = 'revoke_token'
    and connection_id = 'aaaaaaaa-0000-0000-0000-000000000001'), null,
  'a completed release keeps no credential');

-- Users see their queue items, never the credential.
set local role authenticated;
set local "request.jwt.claims" = '{"sub": "11111111-1111-1111-1111-111111111111", "role": "authenticated"}';
select is((select count(*)::int from public.outbound_queue where operation = 'revoke_token'), 1,
  'the user sees the release in their queue');
select throws_ok($$select credential from public.outbound_queue$$, '42501', null,
  'but cannot read the sealed grant');
reset role;

-- Deleting a user queues the release before the rows go.
delete from auth.users where id = '22222222-2222-2222-2222-222222222222';
select is((select count(*)::int from public.calendar_connections
  where user_id = '22222222-2222-2222-2222-222222222222'), 0, 'the user''s rows are gone');
select results_eq($$select connection_id, user_id, credential ->> 'user_id',
    desired -> 'channels' -> 0 ->> 'channel_id'
  from public.outbound_queue where operation = 'revoke_token' and connection_id is null$$,
  $$values (null::uuid, null::uuid, '22222222-2222-2222-2222-222222222222', 'ch-b1')$$,
  'their release outlives them, bound to who they were');
select is((select count(*)::int from net.http_request_queue
  where url like '%/process-outbound-queue'), 1,
  'the outbound processor is kicked once per transaction');

select * from finish();
rollback;
