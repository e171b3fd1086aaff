-- Notion's SQL (20261130000600_notion.sql): the verification token store and its lifecycle
-- (pending → read once → trusted → revoked; at most 20 pending), receiving an event in one call
-- (deduplicated by id, the followed data sources marked; inactive connections, other databases
-- and other workspaces left alone), the mirror snapshot, following one data source per
-- connection, and that none of it is reachable by anon or users.
begin;
select plan(45);

-- Schema and privileges.
select has_table('public', 'notion_webhook_verifications', 'the verification token store exists');
select ok((select relrowsecurity from pg_class
  where oid = 'public.notion_webhook_verifications'::regclass), 'RLS is on');
select ok(not has_table_privilege('authenticated', 'public.notion_webhook_verifications', 'select'),
  'users cannot read verification tokens');
select ok(not has_table_privilege('anon', 'public.notion_webhook_verifications', 'select'),
  'anon cannot read verification tokens');
select ok(not has_table_privilege('authenticated', 'public.notion_webhook_verifications', 'insert'),
  'users cannot plant a token');
select ok(has_table_privilege('service_role', 'public.notion_webhook_verifications', 'select'),
  'the service role can');
select ok(not has_function_privilege('anon',
  'public.notion_webhook_store_verification(text, text)', 'execute'),
  'anon cannot store a token through SQL');
select ok(not has_function_privilege('authenticated',
  'public.notion_webhook_read_verifications()', 'execute'), 'users cannot read tokens through SQL');
select ok(not has_function_privilege('public',
  'public.notion_webhook_verification_keys()', 'execute'), 'PUBLIC has no execute');
select ok(not has_function_privilege('authenticated',
  'public.notion_receive_event(text, text, jsonb, text, text[], uuid)', 'execute'),
  'users cannot mark data sources');
select ok(not has_function_privilege('authenticated',
  'public.notion_mirror_snapshot(uuid, text, timestamptz)', 'execute'),
  'users cannot read snapshots');
select ok(not has_function_privilege('authenticated',
  'public.notion_follow_data_source(uuid, text, text)', 'execute'),
  'users cannot change what is followed');
select ok(not has_function_privilege('anon',
  'public.notion_webhook_revoke_verification(uuid)', 'execute'), 'anon cannot revoke');
select ok(has_function_privilege('service_role',
  'public.notion_receive_event(text, text, jsonb, text, text[], uuid)', 'execute'),
  'the service role can receive events');

-- Tokens (the table is emptied inside this transaction: the test owns it until rollback).
delete from public.notion_webhook_verifications;
-- Pending and unread when received; not yet able to verify anything.
select is(public.notion_webhook_store_verification(repeat('a', 64), 'v1.sealed-a') ->> 'status',
  'pending', 'a new token is pending');
select is(jsonb_array_length(public.notion_webhook_verification_keys()), 0,
  'a token nobody has read verifies nothing');
select is((public.notion_webhook_store_verification(repeat('a', 64), 'v1.sealed-a')
  ->> 'times_received')::int, 2, 'the same token sent again is one row, received twice');
select throws_ok($$ select public.notion_webhook_store_verification('not-a-digest', 'v1.x') $$,
  '23514', null, 'the lookup key must be a SHA-256 digest');

-- The operator's read: once, then trusted.
select is(public.notion_webhook_read_verifications() -> 0 ->> 'token_encrypted', 'v1.sealed-a',
  'the operator reads the unread token');
select is(jsonb_array_length(public.notion_webhook_read_verifications()), 0, 'only once');
select is(public.notion_webhook_verification_keys() -> 0 ->> 'token_encrypted', 'v1.sealed-a',
  'a token the operator read verifies deliveries');
select public.notion_webhook_store_verification(repeat('a', 64), 'v1.sealed-a');
select is(jsonb_array_length(public.notion_webhook_read_verifications()), 1,
  'Notion resending the token makes it readable again');
select is(jsonb_array_length(public.notion_webhook_verification_keys()), 1,
  'and it keeps verifying');

-- Revoked: verifies nothing; a resent revoked token starts over as pending.
select ok(public.notion_webhook_revoke_verification(
  (select id from public.notion_webhook_verifications where token_sha256 = repeat('a', 64))),
  'the operator revokes a token');
select ok(not public.notion_webhook_revoke_verification(
  (select id from public.notion_webhook_verifications where token_sha256 = repeat('a', 64))),
  'revoking twice reports nothing to revoke');
select is(jsonb_array_length(public.notion_webhook_verification_keys()), 0,
  'a revoked token verifies nothing');
select is(public.notion_webhook_store_verification(repeat('a', 64), 'v1.sealed-a') ->> 'status',
  'pending', 'a revoked token sent again is pending, not trusted');

-- The open endpoint cannot fill the table: at most 20 pending tokens.
select public.notion_webhook_store_verification(md5(i::text) || md5((i + 1000)::text), 'v1.x')
  from generate_series(1, 25) as i;
select is((select count(*)::int from public.notion_webhook_verifications where status = 'pending'),
  20, 'only the 20 newest pending tokens are kept');

-- Receiving events.
insert into auth.users (id, email) values
  ('11111111-1111-1111-1111-111111111111', 'a@example.test'),
  ('22222222-2222-2222-2222-222222222222', 'b@example.test');
select public.connection_upsert('11111111-1111-1111-1111-111111111111', 'notion', 'bot-a', 'Acme',
  null, 'v1.access', now() + interval '10 years', '{}',
  '{"database_id": "db-1", "data_source_id": "ds-1", "workspace_id": "ws-1"}');
select public.connection_upsert('22222222-2222-2222-2222-222222222222', 'notion', 'bot-b', 'Other',
  null, 'v1.access', now() + interval '10 years', '{}',
  '{"database_id": "db-2", "data_source_id": "ds-2", "workspace_id": "ws-2"}');
create temporary table c as select
  (select id from public.calendar_connections where external_account_id = 'bot-a') as a,
  (select id from public.calendar_connections where external_account_id = 'bot-b') as b;
select public.sync_watch_calendar((select a from c), 'ds-1', 'Europe/Berlin');
select public.sync_watch_calendar((select b from c), 'ds-2', 'UTC');
update public.calendar_sync_state set needs_sync = false, marked_at = null;

select is(public.notion_receive_event('evt-1', 'page.properties_updated', '{"id": "evt-1"}',
  'ws-1', array['db-1', 'ds-1']) -> 'targets' -> 0 ->> 'calendar_id', 'ds-1',
  'an event naming a followed data source targets it');
select ok((select needs_sync from public.calendar_sync_state where calendar_id = 'ds-1'),
  'and marks it as needing a sync');
select ok(not (select needs_sync from public.calendar_sync_state where calendar_id = 'ds-2'),
  'another user''s data source is left alone');
select is((select outcome from public.webhook_deliveries where dedupe_key = 'evt-1'), 'applied',
  'the delivery is recorded');
update public.calendar_sync_state set needs_sync = false, marked_at = null;
select is(public.notion_receive_event('evt-1', 'page.properties_updated', '{"id": "evt-1"}',
  'ws-1', array['db-1', 'ds-1']) ->> 'duplicate', 'true', 'the same event id again is a duplicate');
select ok(not (select needs_sync from public.calendar_sync_state where calendar_id = 'ds-1'),
  'which marks nothing');
select is((select count(*)::int from public.webhook_deliveries where dedupe_key = 'evt-1'), 1,
  'and records nothing twice');
select is(public.notion_receive_event('evt-2', 'page.created', '{}', 'ws-1', array['db-9'])
  ->> 'outcome', 'unknown_account', 'an event of a database nobody follows marks nothing');
select is(jsonb_array_length(public.notion_receive_event('evt-3', 'page.deleted', '{}', 'ws-2',
  array['db-1', 'ds-1']) -> 'targets'), 0, 'a data source id from another workspace marks nothing');
select is(public.notion_receive_event('evt-4', 'page.deleted', '{}', 'ws-2', '{}')
  -> 'targets' -> 0 ->> 'calendar_id', 'ds-2',
  'an event naming no parent marks what is followed in its workspace');
update public.calendar_connections set status = 'needs_reauth' where id = (select a from c);
select is(jsonb_array_length(public.notion_receive_event('evt-5', 'page.created', '{}', 'ws-1',
  array['ds-1']) -> 'targets'), 0, 'a connection needing re-authorisation is not marked');
update public.calendar_connections set status = 'active' where id = (select a from c);

-- The mirror snapshot the poll compares against.
insert into public.calendar_events (provider, connection_id, user_id, calendar_id, external_id,
  starts_at, ends_at, is_busy, etag)
select 'notion', (select a from c), '11111111-1111-1111-1111-111111111111', 'ds-1', 'page-' || i,
  now() + make_interval(days => i), now() + make_interval(days => i, hours => 1), true, 'etag-' || i
from generate_series(-2, 2) as i;
select is(
  (select array_agg(x ->> 'external_id' order by x ->> 'external_id')
   from jsonb_array_elements(public.notion_mirror_snapshot((select a from c), 'ds-1',
     now() - interval '1 hour')) x),
  array['page-0', 'page-1', 'page-2'], 'the snapshot holds the rows starting from its bound');
select is(public.notion_mirror_snapshot((select a from c), 'ds-1', now() + interval '2 days')
  -> 0 ->> 'etag', 'etag-2', 'with their etags');

-- Following another data source forgets the first one and asks for a full read.
update public.calendar_sync_state set full_sync_required = false, needs_sync = false,
  cursor = '{"v":1}' where calendar_id = 'ds-1';
delete from public.schedule_recalc_state;
select is(public.notion_follow_data_source((select a from c), 'ds-3', 'Asia/Tokyo') ->> 'forgotten',
  '5', 'following another data source forgets the previous one''s rows');
select is((select array_agg(calendar_id) from public.calendar_sync_state
  where connection_id = (select a from c)), array['ds-3'], 'and its sync state');
select ok((select needs_sync and full_sync_required and time_zone = 'Asia/Tokyo'
  from public.calendar_sync_state where calendar_id = 'ds-3'), 'the new one is marked for a full read');
select ok((select needs_run from public.schedule_recalc_state
  where user_id = '11111111-1111-1111-1111-111111111111'), 'busy time went: the plan is marked');

select * from finish();
rollback;
