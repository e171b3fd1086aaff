-- Google sync schema: RLS, privileges, and the SQL functions that make sync steps atomic.
begin;
select plan(26);

select has_table('public', 'calendar_webhook_channels', 'calendar_webhook_channels exists');
select has_table('public', 'calendar_sync_tokens', 'calendar_sync_tokens exists');
select has_table('public', 'calendar_events', 'calendar_events exists');
select has_view('public', 'busy_intervals', 'busy_intervals view exists');
select col_is_unique('public', 'calendar_webhook_channels', 'channel_id', 'channel ids are unique');
select col_is_unique('public', 'calendar_events', array['connection_id', 'calendar_id', 'external_id'],
  'external ids are unique per calendar');
select ok(not has_function_privilege('authenticated',
  'public.google_store_event_page(uuid, text, bigint, jsonb, text[], boolean, text, text)', 'execute'),
  'users cannot call the sync functions');
select ok(not has_function_privilege('anon', 'public.google_mark_needs_sync(uuid, bigint)', 'execute'),
  'anon cannot mark calendars');
select isnt_empty($$ select 1 from cron.job where jobname = 'refresh-calendar-webhooks' $$,
  'the renewal job is scheduled');
select isnt_empty($$ select 1 from cron.job where jobname = 'calendar-sync-cleanup' $$,
  'the cleanup job is scheduled');

insert into auth.users (id, email) values
  ('11111111-1111-1111-1111-111111111111', 'a@example.test'),
  ('22222222-2222-2222-2222-222222222222', 'b@example.test');
insert into public.calendar_connections (id, user_id, provider, external_account_id) values
  ('aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111', 'google', 'a@example.test'),
  ('bbbbbbbb-0000-0000-0000-000000000002', '22222222-2222-2222-2222-222222222222', 'google', 'b@example.test');
insert into public.calendar_webhook_channels (id, connection_id, user_id, calendar_id, channel_id,
  resource_id, token_hash, status, expiration) values
  ('cccccccc-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000001',
   '11111111-1111-1111-1111-111111111111', 'a@example.test', 'channel-a', 'res-a', 'hash', 'active',
   now() + interval '7 days');
insert into public.calendar_sync_tokens (connection_id, calendar_id, user_id, needs_sync) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test', '11111111-1111-1111-1111-111111111111', false);

-- A notification marks the calendar and records the message number (never going backwards).
select is(public.google_mark_needs_sync('cccccccc-0000-0000-0000-000000000001', 40) ->> 'marked',
  'true', 'a notification marks the calendar');
select public.google_mark_needs_sync('cccccccc-0000-0000-0000-000000000001', 12);
select is((select last_message_number from public.calendar_webhook_channels where channel_id = 'channel-a'),
  40::bigint, 'message numbers only move forward');

-- Claim: one at a time; a notification during the run leads to exactly one follow-up.
select isnt(public.google_claim_sync('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test'), null,
  'the first claim wins');
select is(public.google_claim_sync('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test'), null,
  'a second claim while running gets nothing');
select is(public.google_mark_needs_sync('cccccccc-0000-0000-0000-000000000001', 50) ->> 'sync_running',
  'true', 'a notification during the run sees it running');
select public.google_mark_needs_sync('cccccccc-0000-0000-0000-000000000001', 52);

-- Pages: stored idempotently; the token moves only with the last page.
select public.google_store_event_page('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test', 1,
  '[{"external_id": "e1", "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T11:00:00Z", "all_day": false, "status": "confirmed", "transparency": "opaque", "event_type": "default", "etag": "1", "app_owned": false, "is_busy": true, "is_tentative": false}]'::jsonb,
  '{}', true, null, 'UTC');
select is((select sync_token from public.calendar_sync_tokens where calendar_id = 'a@example.test'),
  null, 'a middle page does not move the token');
select is(public.google_store_event_page('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test', 1,
  '[{"external_id": "e2", "starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T11:00:00Z", "all_day": false, "status": "confirmed", "transparency": "opaque", "event_type": "default", "etag": "1", "app_owned": false, "is_busy": true, "is_tentative": false}]'::jsonb,
  '{}', true, 'token-1', 'UTC') ->> 'busy_changed', 'true', 'new busy events change busy time');
select is((select sync_token from public.calendar_sync_tokens where calendar_id = 'a@example.test'),
  'token-1', 'the last page moves the token');
select is(public.google_finish_sync('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test') ->> 'needs_sync',
  'true', 'the finishing sync learns about the notifications it missed');
select isnt(public.google_claim_sync('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test'), null,
  'exactly one follow-up can claim');
select is(public.google_finish_sync('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test') ->> 'needs_sync',
  'false', 'and nothing more is pending after it');

-- A 410: a new generation; a full sync removes what it did not see, stale pages are refused.
select is(public.google_restart_full_sync('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test'),
  2::bigint, 'a restart opens a new generation');
select is(public.google_store_event_page('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test', 1,
  '[]'::jsonb, '{}', true, 'old', 'UTC') ->> 'stale', 'true', 'pages of an older generation are refused');
select public.google_store_event_page('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test', 2,
  '[{"external_id": "e2", "starts_at": "2030-01-02T10:00:00Z", "ends_at": "2030-01-02T11:00:00Z", "all_day": false, "status": "confirmed", "transparency": "opaque", "event_type": "default", "etag": "1", "app_owned": false, "is_busy": true, "is_tentative": false}]'::jsonb,
  '{}', true, 'token-2', 'UTC');
select results_eq($$ select external_id from public.calendar_events
  where connection_id = 'aaaaaaaa-0000-0000-0000-000000000001' order by 1 $$, array['e2'],
  'the full sync removed the event it did not return');

-- RLS: user B sees none of A's rows, and nobody reads the channel's token hash.
set local role authenticated;
set local "request.jwt.claims" = '{"sub": "22222222-2222-2222-2222-222222222222", "role": "authenticated"}';
select is_empty($$ select id from public.calendar_events $$, 'user B sees none of A''s events');
select throws_ok($$ select token_hash from public.calendar_webhook_channels $$, '42501', null,
  'the channel token hash is not readable');
reset role;

select * from finish();
rollback;
