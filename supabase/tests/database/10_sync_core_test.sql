-- The provider-neutral sync core: schema, privileges, and the SQL functions that make each sync
-- step atomic (mark, claim with a short lease, store under the claim, follow-up, finish), the
-- mirror's version ordering, the plan mark in the same transaction, and Google's one-round-trip
-- receiver. Time passes through public.app_clock (now() is fixed inside a transaction).
begin;
select plan(57);

select has_table('public', 'calendar_connections', 'calendar_connections exists');
select has_table('public', 'calendar_sync_state', 'calendar_sync_state exists');
select has_table('public', 'calendar_webhook_channels', 'calendar_webhook_channels exists');
select has_table('public', 'calendar_events', 'calendar_events exists (the one mirror)');
select has_column('public', 'calendar_events', 'provider', 'the mirror names each row''s provider');
select has_view('public', 'busy_intervals', 'busy_intervals view exists');
select col_is_unique('public', 'calendar_webhook_channels', 'channel_id', 'channel ids are unique');
select col_is_unique('public', 'calendar_events', array['connection_id', 'calendar_id', 'external_id'],
  'external ids are unique per calendar');
select ok(not has_function_privilege('authenticated',
  'public.sync_store_page(uuid, text, uuid, bigint, jsonb, text[], boolean, text, text, text, timestamptz, timestamptz, integer)',
  'execute'), 'users cannot call the sync functions');
select ok(not has_function_privilege('anon',
  'public.google_receive_notifications(jsonb)', 'execute'),
  'anon cannot mark calendars');
select ok(not has_function_privilege('authenticated',
  'public.connection_upsert(uuid, text, text, text, text, text, timestamptz, text[], jsonb)', 'execute'),
  'users cannot write connections or tokens');

insert into auth.users (id, email) values
  ('11111111-1111-1111-1111-111111111111', 'a@example.test'),
  ('22222222-2222-2222-2222-222222222222', 'b@example.test');

-- Connecting is one statement: the connection and its tokens together.
select is(public.connection_upsert('11111111-1111-1111-1111-111111111111', 'google',
  'a@example.test', 'a@example.test', 'v1.refresh', 'v1.access', now() + interval '1 hour') ->> 'created',
  'true', 'connecting stores the connection');
select is((select refresh_token_encrypted from public.calendar_connections
  where external_account_id = 'a@example.test'), 'v1.refresh',
  'and its tokens in the same statement');
select throws_ok($$ select public.connection_upsert('99999999-9999-9999-9999-999999999999', 'google',
  'x@example.test', null, 'v1.r') $$, 'P0002', null,
  'a user who does not exist is a clear not-found, not a foreign-key failure');

create temporary table ids as
  select id as connection_id from public.calendar_connections
  where external_account_id = 'a@example.test';
select public.sync_watch_calendar((select connection_id from ids), 'a@example.test', 'UTC');
insert into public.calendar_webhook_channels (id, provider, connection_id, user_id, calendar_id,
  channel_id, resource_id, token_hash, status, expiration)
select 'cccccccc-0000-0000-0000-000000000001', 'google', connection_id,
  '11111111-1111-1111-1111-111111111111', 'a@example.test', 'channel-a', 'res-a',
  encode(extensions.digest('secret-a', 'sha256'), 'hex'), 'active', now() + interval '7 days'
from ids;

-- One notification, as the receiver sends it: a batch of one, answered at position 0.
create function pg_temp.receive(p_channel_id text, p_token_sha256 text, p_resource_id text,
  p_resource_state text, p_message_number bigint) returns jsonb language sql as $$
  select public.google_receive_notifications(jsonb_build_array(jsonb_build_object(
    'channel_id', p_channel_id, 'token_sha256', p_token_sha256, 'resource_id', p_resource_id,
    'resource_state', p_resource_state, 'message_number', p_message_number))) -> 0
$$;

-- The receiver: one call checks the channel and marks the calendar, or changes nothing.
select is(pg_temp.receive('nope', 'x', 'res-a', 'exists', 2) ->> 'outcome',
  'unknown_channel', 'an unknown channel is ignored');
select is(pg_temp.receive('channel-a', 'forged', 'res-a', 'exists', 2) ->> 'outcome',
  'forged', 'a token whose hash does not match is refused');
select is(pg_temp.receive('channel-a',
  encode(extensions.digest('secret-a', 'sha256'), 'hex'), 'res-b', 'exists', 2) ->> 'outcome',
  'resource_mismatch', 'a notification for another resource is refused');
select is((select last_message_number from public.calendar_webhook_channels where channel_id = 'channel-a'),
  null, 'refused notifications wrote nothing');

-- A burst in one round trip: every notification gets its own answer, in the order sent.
select is((select jsonb_agg(answer ->> 'outcome') from jsonb_array_elements(
  public.google_receive_notifications(jsonb_build_array(
    jsonb_build_object('channel_id', 'nope', 'token_sha256', 'x', 'resource_id', 'res-a',
      'resource_state', 'exists', 'message_number', 3),
    jsonb_build_object('channel_id', 'channel-a',
      'token_sha256', encode(extensions.digest('secret-a', 'sha256'), 'hex'),
      'resource_id', 'res-a', 'resource_state', 'exists', 'message_number', 3),
    jsonb_build_object('channel_id', 'channel-a', 'token_sha256', 'forged',
      'resource_id', 'res-a', 'resource_state', 'exists', 'message_number', 4),
    jsonb_build_object('channel_id', 'a-before-the-others', 'token_sha256', 'x',
      'resource_id', 'res-a', 'resource_state', 'exists', 'message_number', 5)))) as answer),
  '["unknown_channel", "marked", "forged", "unknown_channel"]'::jsonb,
  'a batch answers each notification at its own position');
select is((select last_message_number from public.calendar_webhook_channels where channel_id = 'channel-a'),
  3::bigint, 'only the valid notification of the batch wrote');
select is(public.google_receive_notifications('[]'::jsonb), '[]'::jsonb,
  'an empty batch answers an empty list');
select throws_ok($$ select public.google_receive_notifications('{}'::jsonb) $$, '22023', null,
  'a batch that is not a list is refused');
select ok(not has_function_privilege('authenticated', 'public.google_receive_notifications(jsonb)',
  'execute'), 'users cannot mark calendars either');
-- (What health shows is written about once a second; the tests below start from a quiet channel.)
update public.calendar_webhook_channels set last_message_number = null, last_notification_at = null
  where channel_id = 'channel-a';

-- Claim: one run at a time, a short lease that others take over when it runs out.
select is((public.sync_claim((select connection_id from ids), 'a@example.test') ->> 'claimed'),
  'true', 'the first claim of a marked calendar wins');
select is((select needs_sync from public.calendar_sync_state where calendar_id = 'a@example.test'),
  false, 'the claim cleared the mark');
select is(pg_temp.receive('channel-a',
  encode(extensions.digest('secret-a', 'sha256'), 'hex'), 'res-a', 'exists', 40) ->> 'sync_running',
  'true', 'a notification during the run marks it and sees it running');
select is((public.sync_claim((select connection_id from ids), 'a@example.test') ->> 'reason'),
  'running', 'a second claim while the lease holds gets nothing');
select pg_temp.receive('channel-a',
  encode(extensions.digest('secret-a', 'sha256'), 'hex'), 'res-a', 'exists', 12);
select is((select last_message_number from public.calendar_webhook_channels where channel_id = 'channel-a'),
  40::bigint, 'message numbers only move forward');

-- The lease runs out (a crashed run): another run takes over within seconds.
create temporary table claims (n int, claim uuid, generation bigint);
insert into claims select 1, claim_token, 0 from public.calendar_sync_state
  where calendar_id = 'a@example.test';
update public.app_clock set offset_interval = interval '20 seconds';
create temporary table second as
  select public.sync_claim((select connection_id from ids), 'a@example.test') as payload;
select is((select payload ->> 'claimed' from second), 'true',
  'a claim whose lease ran out is taken over');
select ok((select payload -> 'connection' ->> 'access_token_encrypted' from second) = 'v1.access',
  'the claim hands the run everything it needs: the connection and its token ciphertext');

-- The dead run's writes are refused: store and finish only under your own claim.
select is(public.sync_store_page((select connection_id from ids), 'a@example.test',
  (select claim from claims where n = 1), 1, '[]'::jsonb, '{}', true, 'stale') ->> 'status',
  'lost', 'a run whose claim was taken over stores nothing');
select is(public.sync_finish((select connection_id from ids), 'a@example.test',
  (select claim from claims where n = 1)) ->> 'finished', 'false',
  'and cannot release the newer run''s claim');

-- Pages under the live claim.
select is(public.sync_store_page((select connection_id from ids), 'a@example.test',
  (select (payload ->> 'claim')::uuid from second), (select (payload ->> 'generation')::bigint from second),
  '[{"external_id": "e1", "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T11:00:00Z", "status": "confirmed", "is_busy": true, "etag": "1", "external_updated_at": "2029-12-01T00:00:00Z"}]'::jsonb,
  '{}', true) ->> 'status', 'stored', 'a middle page is stored');
select is((select cursor from public.calendar_sync_state where calendar_id = 'a@example.test'),
  null, 'a middle page does not move the cursor');
select is((select needs_run from public.schedule_recalc_state
  where user_id = '11111111-1111-1111-1111-111111111111'), true,
  'busy time that changed marked the user''s plan in the same transaction');

-- Version ordering: an older version never replaces a newer one (but is still "seen").
select public.sync_store_page((select connection_id from ids), 'a@example.test',
  (select (payload ->> 'claim')::uuid from second), (select (payload ->> 'generation')::bigint from second),
  '[{"external_id": "e1", "starts_at": "2030-01-01T15:00:00Z", "ends_at": "2030-01-01T16:00:00Z", "status": "confirmed", "is_busy": true, "etag": "0", "external_updated_at": "2029-11-01T00:00:00Z"}]'::jsonb,
  '{}', true);
select is((select starts_at from public.calendar_events where external_id = 'e1'),
  '2030-01-01T10:00:00Z'::timestamptz, 'an older version of an event does not replace a newer one');

-- The last page: the cursor moves, unseen rows go, the claim is released, and the notification
-- that arrived during the run is served by a follow-up claim handed back at once.
insert into public.calendar_events (provider, connection_id, user_id, calendar_id, external_id,
  starts_at, ends_at, is_busy, seen_generation)
select 'google', connection_id, '11111111-1111-1111-1111-111111111111', 'a@example.test', 'old',
  '2030-01-05T10:00:00Z', '2030-01-05T11:00:00Z', true, 0 from ids;
select public.sync_mark((select connection_id from ids), 'a@example.test');
create temporary table last_page as
  select public.sync_store_page((select connection_id from ids), 'a@example.test',
    (select (payload ->> 'claim')::uuid from second), (select (payload ->> 'generation')::bigint from second),
    '[{"external_id": "e2", "starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T11:00:00Z", "status": "confirmed", "is_busy": true, "etag": "1"}]'::jsonb,
    '{}', true, 'token-1', 'UTC') as result;
select is((select result ->> 'finished' from last_page), 'true', 'the last page finishes the run');
select is((select cursor from public.calendar_sync_state where calendar_id = 'a@example.test'),
  'token-1', 'the last page moves the cursor');
select results_eq($$ select external_id from public.calendar_events
  where calendar_id = 'a@example.test' order by 1 $$, array['e1', 'e2'],
  'the full sync removed the row it did not see');
select isnt((select result -> 'follow_up' ->> 'claim' from last_page), null,
  'the mark set during the run comes back as exactly one follow-up claim');
select is((select result -> 'follow_up' ->> 'cursor' from last_page), 'token-1',
  'the follow-up is incremental from the new cursor');
select is(public.sync_finish((select connection_id from ids), 'a@example.test',
  (select (result -> 'follow_up' ->> 'claim')::uuid from last_page)) ->> 'needs_sync', 'false',
  'and nothing more is pending after it');

-- A failed run keeps the calendar marked; the cursor expiring restarts in full.
select public.sync_mark((select connection_id from ids), 'a@example.test');
create temporary table third as
  select public.sync_claim((select connection_id from ids), 'a@example.test') as payload;
select is(public.sync_finish((select connection_id from ids), 'a@example.test',
  (select (payload ->> 'claim')::uuid from third), 'server: 503') ->> 'needs_sync', 'true',
  'a failed run leaves the calendar marked for the next trigger');
select is((select consecutive_failures from public.calendar_sync_state
  where calendar_id = 'a@example.test'), 1, 'and counts the failure');
create temporary table fourth as
  select public.sync_claim((select connection_id from ids), 'a@example.test') as payload;
select is(public.sync_restart_full((select connection_id from ids), 'a@example.test',
  (select (payload ->> 'claim')::uuid from fourth)),
  (select (payload ->> 'generation')::bigint + 1 from fourth), 'an expired cursor opens a new generation');

-- A full sync of a provider that cancels (Calendly) only sweeps inside its window.
select is(public.sync_store_page((select connection_id from ids), 'a@example.test',
  (select (payload ->> 'claim')::uuid from fourth), (select (payload ->> 'generation')::bigint + 1 from fourth),
  '[]'::jsonb, '{}', true, 'token-2', null, 'cancel', '2030-01-02T00:00:00Z', '2031-01-01T00:00:00Z')
  ->> 'status', 'stored', 'a full sync with a window stores its last page');
select results_eq($$ select external_id, status, is_busy from public.calendar_events
  where calendar_id = 'a@example.test' order by 1 $$,
  $$ values ('e1'::text, 'confirmed'::text, true), ('e2', 'cancelled', false) $$,
  'unseen rows inside the window are cancelled, those outside are kept');

-- Maintenance claims: one renewer per calendar.
create temporary table m1 as
  select public.maintenance_claim((select connection_id from ids), 'a@example.test') as payload;
select is((select payload ->> 'claimed' from m1), 'true', 'the first maintenance claim wins');
select is(public.maintenance_claim((select connection_id from ids), 'a@example.test') ->> 'claimed',
  'false', 'a concurrent setup or maintenance run cannot take the same calendar');
select throws_ok($$ select public.channel_record_pending((select connection_id from ids),
  'a@example.test', gen_random_uuid(), 'channel-x', 'h') $$, '55000', null,
  'a channel can only be recorded under the held maintenance claim');

-- A burst of marks writes the row once; the answer says a run holds it and for how long.
select public.sync_mark((select connection_id from ids), 'a@example.test');
update public.calendar_sync_state set claim_token = gen_random_uuid(),
  lease_until = public.app_now() + interval '4 seconds', needs_sync = true,
  marked_at = public.app_now() - interval '30 seconds'
  where calendar_id = 'a@example.test';
select is((public.sync_mark((select connection_id from ids), 'a@example.test') -> 0 ->> 'running')::boolean,
  true, 'a mark while a run holds the calendar says it is running');
select ok((public.sync_mark((select connection_id from ids), 'a@example.test') -> 0
  ->> 'lease_remaining_ms')::bigint between 1 and 4000, 'and how long its lease still holds');
select ok((select marked_at < public.app_now() - interval '20 seconds' from public.calendar_sync_state
  where calendar_id = 'a@example.test'), 'an already marked calendar is not written again');

-- A run that died after clearing the mark: its unfinished work counts as a mark.
update public.calendar_sync_state set needs_sync = false, marked_at = null,
  lease_until = public.app_now() - interval '1 second'
  where calendar_id = 'a@example.test';
select is((public.sync_claim((select connection_id from ids), 'a@example.test') ->> 'claimed'),
  'true', 'an abandoned claim is taken over even without a mark');

-- RLS: user B sees none of A's rows, and nobody reads the channel's token hash.
set local role authenticated;
set local "request.jwt.claims" = '{"sub": "22222222-2222-2222-2222-222222222222", "role": "authenticated"}';
select is_empty($$ select id from public.calendar_events $$, 'user B sees none of A''s events');
select throws_ok($$ select token_hash from public.calendar_webhook_channels $$, '42501', null,
  'the channel token hash is not readable');
select throws_ok($$ select cursor from public.calendar_sync_state $$, '42501', null,
  'the sync cursor is not readable');
reset role;

select * from finish();
rollback;
