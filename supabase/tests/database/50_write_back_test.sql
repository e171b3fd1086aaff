-- Write-back's outbound queue in SQL: enqueued in the same transaction as the plan change (and
-- not at all when it rolls back), coalesced per block, skipped when nothing would change; claims
-- that two processors never share; backoff, FAILED, HELD and release; a person's edit of our
-- event (locked at the new time; deleted → planned after it); conflicts; statistics; cleanup.
begin;
select plan(32);

-- The Vault secrets the kick reads (the local stack sets them; a test database may not have).
select vault.create_secret('http://api.example.test', 'project_url')
  where not exists (select 1 from vault.decrypted_secrets where name = 'project_url');
select vault.create_secret('a-cron-secret-of-some-length', 'cron_secret')
  where not exists (select 1 from vault.decrypted_secrets where name = 'cron_secret');

select has_table('public', 'outbound_queue', 'the outbound queue exists');
select has_table('public', 'write_back_links', 'write-back links exist');
select has_table('public', 'sync_conflicts', 'conflicts are recorded');
select has_view('public', 'outbound_queue_stats', 'queue statistics per user');
select ok(not has_function_privilege('authenticated', 'public.outbound_claim(integer, integer)',
  'execute'), 'users cannot claim queue items');

insert into auth.users (id, email) values
  ('11111111-1111-1111-1111-111111111111', 'a@example.test'),
  ('22222222-2222-2222-2222-222222222222', 'b@example.test');
insert into public.calendar_connections (id, user_id, provider, external_account_id, settings)
values ('aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111', 'google',
  'a@example.test', '{"planned_calendar_id": "planned-a"}');
insert into public.scheduling_preferences (user_id, write_back_enabled)
  values ('11111111-1111-1111-1111-111111111111', true);
insert into public.sessions (id, user_id, title, duration_minutes, status) values
  ('5e551011-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111', 'Deep work',
   60, 'scheduled');

select is(public.outbound_next_due_seconds(), null, 'an empty queue has nothing due');

-- A plan change enqueues, in its own transaction, and a rollback enqueues nothing.
savepoint before_block;
insert into public.session_blocks (session_id, user_id, block_index, starts_at, ends_at) values
  ('5e551011-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111', 0,
   '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z');
select is((select count(*)::int from public.outbound_queue), 1,
  'placing a block queues its write in the same transaction');
rollback to savepoint before_block;
select is((select count(*)::int from public.outbound_queue), 0,
  'a rolled-back plan change queues nothing');

insert into public.session_blocks (session_id, user_id, block_index, starts_at, ends_at) values
  ('5e551011-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111', 0,
   '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z');
select is((select target_calendar from public.outbound_queue), 'planned-a',
  'the write goes to the user''s planned calendar');
select isnt_empty($$ select 1 from net.http_request_queue
  where url like '%/functions/v1/process-outbound-queue' $$, 'and the processor is kicked');

-- Consecutive changes coalesce into the latest desired state.
update public.session_blocks set starts_at = '2030-01-01T12:00:00Z', ends_at = '2030-01-01T13:00:00Z'
  where session_id = '5e551011-0000-0000-0000-000000000001';
update public.session_blocks set starts_at = '2030-01-01T14:00:00Z', ends_at = '2030-01-01T15:00:00Z'
  where session_id = '5e551011-0000-0000-0000-000000000001';
select is((select count(*)::int from public.outbound_queue), 1, 'three changes, one waiting item');
select is((select desired ->> 'starts_at' from public.outbound_queue)::timestamptz,
  '2030-01-01T14:00:00Z'::timestamptz, 'holding the latest desired state');

-- Claims: two processors never take the same item.
create temporary table first_claim as select public.outbound_claim(10, 60) as items;
select is((select jsonb_array_length(items) from first_claim), 1, 'the first processor claims it');
select is(jsonb_array_length(public.outbound_claim(10, 60)), 0,
  'a second processor finds nothing to take');

-- Done: the link records what was written; writing the same again is skipped.
select ok(public.outbound_complete((select (items -> 0 ->> 'id')::bigint from first_claim),
  (select (items -> 0 ->> 'claim')::uuid from first_claim),
  '{"calendar_id": "planned-a", "external_id": "evt1", "id_version": 1, "etag": "\"e1\"",
    "title": "Deep work", "starts_at": "2030-01-01T14:00:00Z", "ends_at": "2030-01-01T15:00:00Z"}'),
  'the processor completes its item');
update public.sessions set title = 'Deep work' where id = '5e551011-0000-0000-0000-000000000001';
select is((select count(*)::int from public.outbound_queue where status = 'PENDING'), 0,
  'a change that leaves the block as written queues nothing');

-- A person moves our event: the session takes the new time and is locked there.
select is(public.write_back_provider_changed('aaaaaaaa-0000-0000-0000-000000000001', 'planned-a',
  'evt1', '"e1"', 'Deep work', '2030-01-01T14:00:00Z', '2030-01-01T15:00:00Z', false, now()),
  'echo', 'our own write coming back is an echo');
select is(public.write_back_provider_changed('aaaaaaaa-0000-0000-0000-000000000001', 'planned-a',
  'evt1', '"e2"', 'Deep work', '2030-01-01T16:00:00Z', '2030-01-01T17:00:00Z', false, now()),
  'provider', 'a person moving it is the user speaking');
select results_eq($$ select b.starts_at, s.locked from public.session_blocks b
    join public.sessions s on s.id = b.session_id
    where b.session_id = '5e551011-0000-0000-0000-000000000001' $$,
  $$ values ('2030-01-01T16:00:00Z'::timestamptz, true) $$,
  'the session takes the new time and is locked there');
select is((select count(*)::int from public.outbound_queue where status = 'PENDING'), 0,
  'and nothing is written back for it');
select is((select needs_run from public.schedule_recalc_state
  where user_id = '11111111-1111-1111-1111-111111111111'), true, 'the user''s plan is marked');

-- Both changed since the last exchange: the later change wins, and the conflict is recorded.
update public.sessions set locked = false where id = '5e551011-0000-0000-0000-000000000001';
update public.session_blocks set starts_at = '2030-01-02T09:00:00Z', ends_at = '2030-01-02T10:00:00Z'
  where session_id = '5e551011-0000-0000-0000-000000000001';
select is(public.write_back_provider_changed('aaaaaaaa-0000-0000-0000-000000000001', 'planned-a',
  'evt1', '"e3"', 'Deep work', '2030-01-01T18:00:00Z', '2030-01-01T19:00:00Z', false,
  now() - interval '1 hour'), 'app', 'the app''s later change wins over an older edit');
select results_eq($$ select winner, reason like '%app''s change is later%' from public.sync_conflicts $$,
  $$ values ('app'::text, true) $$, 'a conflict row says who won and why');
select is((select status from public.outbound_queue where status = 'PENDING'), 'PENDING',
  'the app''s write stays queued');

-- A person deletes our event: planned after that time, its block removed.
select is(public.write_back_provider_changed('aaaaaaaa-0000-0000-0000-000000000001', 'planned-a',
  'evt1', null, null, null, null, true, now() + interval '1 hour'), 'provider',
  'a later deletion in the calendar wins');
select results_eq($$ select earliest_start, (select count(*)::int from public.session_blocks
    where session_id = s.id) from public.sessions s where id = '5e551011-0000-0000-0000-000000000001' $$,
  $$ values ('2030-01-01T17:00:00Z'::timestamptz, 0) $$,
  'deleted: the session is planned after that time, its block removed');

-- Backoff, FAILED, HELD and release.
select public.write_back_enqueue('11111111-1111-1111-1111-111111111111',
  'aaaaaaaa-0000-0000-0000-000000000001', 'google', 'planned-a', 'k:1',
  '{"title": "x", "starts_at": "2030-01-03T10:00:00Z", "ends_at": "2030-01-03T11:00:00Z"}');
create temporary table c2 as select public.outbound_claim(10, 60) -> 0 as item;
select is(public.outbound_retry((select (item ->> 'id')::bigint from c2),
  (select (item ->> 'claim')::uuid from c2), 'server: 503', 30), 'retry',
  'a transient failure is retried');
select ok((select next_attempt_at >= now() + interval '30 seconds' from public.outbound_queue
  where target_key = 'k:1'), 'no sooner than the provider asked');
select is(public.outbound_hold_connection('aaaaaaaa-0000-0000-0000-000000000001', 'invalid_grant'),
  1, 'invalid_grant holds the connection''s items');
update public.calendar_connections set status = 'active' where id = 'aaaaaaaa-0000-0000-0000-000000000001';
select is((select status from public.outbound_queue where target_key = 'k:1'), 'PENDING',
  'reconnecting releases them');

-- Statistics and cleanup.
update public.outbound_queue set completed_at = now() - interval '8 days' where status = 'COMPLETED';
select is(public.outbound_cleanup(), 2,
  'cleanup removes completed items older than 7 days (one written, one superseded)');
select is((select count(*)::int from public.outbound_queue where target_key = 'k:1'), 1,
  'and leaves the waiting ones');

select * from finish();
rollback;
