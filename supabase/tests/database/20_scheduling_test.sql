-- Scheduling schema: tables, RLS (user A vs B, anon), the coalescing functions, the apply
-- function's optimistic check and atomicity, and the roll-forward cron job.
begin;
select plan(74);

select has_table('public', 'sessions', 'sessions exists');
select has_table('public', 'session_blocks', 'session_blocks exists');
select has_table('public', 'scheduling_preferences', 'scheduling_preferences exists');
select has_table('public', 'schedule_runs', 'schedule_runs exists');
select has_table('public', 'schedule_recalc_state', 'schedule_recalc_state exists');
select ok((select bool_and(relrowsecurity) from pg_class where oid in (
  'public.sessions'::regclass, 'public.session_blocks'::regclass,
  'public.scheduling_preferences'::regclass, 'public.schedule_runs'::regclass,
  'public.schedule_recalc_state'::regclass)), 'RLS is enabled on every scheduling table');
select col_is_unique('public', 'session_blocks', 'block_key', 'block keys are unique');
select col_default_is('public', 'scheduling_preferences', 'time_zone', 'UTC', 'default zone UTC');
select col_default_is('public', 'scheduling_preferences', 'freeze_hours', '12', 'default freeze 12 h');
select col_default_is('public', 'scheduling_preferences', 'horizon_days', '14', 'default horizon 14 d');

-- Service-only functions are not executable by API users.
select ok(not has_function_privilege('authenticated', p.oid, 'execute')
      and not has_function_privilege('anon', p.oid, 'execute')
      and has_function_privilege('service_role', p.oid, 'execute'),
    p.proname || ' is for the service role only')
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  where n.nspname = 'public' and p.proname in ('schedule_request_recalc', 'schedule_claim_recalc',
    'schedule_finish_recalc', 'schedule_load_inputs', 'schedule_apply_plan',
    'schedule_users_to_plan')
  order by p.proname;

-- The roll-forward job (what running it sends is in 30_jobs_test.sql).
select is((select schedule from cron.job where jobname = 'roll-forward-schedules'), '17 * * * *',
  'the roll-forward cron job is scheduled hourly');
select ok((select command like '%invoke_edge_function(''recalculate-schedule''%'
    and command like '%"trigger": "roll_forward"%'
  from cron.job where jobname = 'roll-forward-schedules'),
  'it asks recalculate-schedule to roll forward, through the one cron helper');

-- Validation.
insert into auth.users (id, email) values
  ('11111111-1111-1111-1111-111111111111', 'a@example.test'),
  ('22222222-2222-2222-2222-222222222222', 'b@example.test');
select throws_ok($$ insert into public.scheduling_preferences (user_id, time_zone)
  values ('11111111-1111-1111-1111-111111111111', 'Mars/Olympus') $$, '23514', null,
  'an unknown time zone is rejected');
select throws_ok($$ insert into public.scheduling_preferences (user_id, time_zone)
  values ('11111111-1111-1111-1111-111111111111', 'EST5EDT') $$, '23514', null,
  'a POSIX zone string is rejected');
select throws_ok($$ insert into public.scheduling_preferences (user_id, working_hours)
  values ('11111111-1111-1111-1111-111111111111', '{"mon": [{"start": "17:00", "end": "09:00"}]}') $$,
  '23514', null, 'a range that ends before it starts is rejected');
select throws_ok($$ insert into public.scheduling_preferences (user_id, working_hours)
  values ('11111111-1111-1111-1111-111111111111', '{"monday": []}') $$,
  '23514', null, 'unknown weekday keys are rejected');
select lives_ok($$ insert into public.scheduling_preferences (user_id, time_zone, working_hours)
  values ('11111111-1111-1111-1111-111111111111', 'Europe/Berlin',
    '{"mon": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "24:00"}], "sat": []}') $$,
  'an IANA zone and several ranges per day are accepted');
select throws_ok($$ insert into public.sessions (user_id, title, duration_minutes, min_block_minutes,
  max_block_minutes) values ('11111111-1111-1111-1111-111111111111', 'x', 60, 90, 30) $$,
  '23514', null, 'min block above max block is rejected');

-- Fixtures: A has two sessions (one placed), B has one.
insert into public.sessions (id, user_id, title, duration_minutes, status) values
  ('aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111', 'A1', 60, 'scheduled'),
  ('aaaaaaaa-0000-0000-0000-000000000002', '11111111-1111-1111-1111-111111111111', 'A2', 30, 'unscheduled'),
  ('bbbbbbbb-0000-0000-0000-000000000001', '22222222-2222-2222-2222-222222222222', 'B1', 60, 'unscheduled');
insert into public.session_blocks (session_id, user_id, block_index, starts_at, ends_at) values
  ('aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111', 0,
   '2030-01-07 09:00Z', '2030-01-07 10:00Z');
select is((select block_key from public.session_blocks
  where session_id = 'aaaaaaaa-0000-0000-0000-000000000001'),
  'aaaaaaaa-0000-0000-0000-000000000001:0', 'block_key is session_id:index');
select throws_ok($$ insert into public.session_blocks (session_id, user_id, block_index, starts_at, ends_at)
  values ('aaaaaaaa-0000-0000-0000-000000000001', '22222222-2222-2222-2222-222222222222', 1,
  '2030-01-07 11:00Z', '2030-01-07 12:00Z') $$, '23503', null,
  'a block belongs to a session of the same user');
select is((select version from public.sessions where id = 'aaaaaaaa-0000-0000-0000-000000000002'),
  1::bigint, 'new sessions start at version 1');
update public.sessions set priority = 1 where id = 'aaaaaaaa-0000-0000-0000-000000000002';
select is((select version from public.sessions where id = 'aaaaaaaa-0000-0000-0000-000000000002'),
  2::bigint, 'every update bumps the version');

-- As user A.
set local role authenticated;
set local "request.jwt.claims" = '{"sub": "11111111-1111-1111-1111-111111111111", "role": "authenticated"}';
select results_eq($$ select title from public.sessions order by title $$,
  array['A1', 'A2'], 'user A sees only their own sessions');
select results_eq($$ select user_id::text from public.session_blocks $$,
  array['11111111-1111-1111-1111-111111111111'], 'user A sees only their own blocks');
select results_eq($$ select time_zone from public.scheduling_preferences $$,
  array['Europe/Berlin'], 'user A sees only their own preferences');
select lives_ok($$ insert into public.sessions (title, duration_minutes, status)
  values ('A3', 45, 'scheduled') $$, 'user A creates a session');
select is((select status from public.sessions where title = 'A3'), 'unscheduled',
  'a user cannot create a session as scheduled: placement is the function''s');
select throws_ok($$ insert into public.sessions (user_id, title, duration_minutes)
  values ('22222222-2222-2222-2222-222222222222', 'evil', 30) $$, '42501', null,
  'user A cannot create a session for user B');
select is_empty($$ update public.sessions set title = 'hijacked'
  where id = 'bbbbbbbb-0000-0000-0000-000000000001' returning id $$,
  'user A cannot change user B''s session');
select is_empty($$ delete from public.sessions
  where id = 'bbbbbbbb-0000-0000-0000-000000000001' returning id $$,
  'user A cannot delete user B''s session');
select throws_ok($$ update public.sessions set unscheduled_reason = 'x' $$, '42501', null,
  'users cannot write unscheduled_reason');
select throws_ok($$ update public.sessions set version = 99 $$, '42501', null,
  'users cannot write version');
select throws_ok($$ update public.sessions set status = 'scheduled'
  where id = 'aaaaaaaa-0000-0000-0000-000000000002' $$, '42501', null,
  'users cannot mark a session scheduled');
select lives_ok($$ update public.sessions set status = 'done'
  where id = 'aaaaaaaa-0000-0000-0000-000000000002' $$, 'users can mark a session done');
select lives_ok($$ update public.sessions set status = 'unscheduled'
  where id = 'aaaaaaaa-0000-0000-0000-000000000002' $$, 'and reopen it');
select lives_ok($$ update public.session_blocks set starts_at = '2030-01-07 08:00Z'
  where session_id = 'aaaaaaaa-0000-0000-0000-000000000001' $$, 'user A moves a block by hand');
select ok((select locked from public.sessions where id = 'aaaaaaaa-0000-0000-0000-000000000001'),
  'moving a block locks its session');
select throws_ok($$ update public.session_blocks set block_index = 5 $$, '42501', null,
  'users cannot re-key blocks');
select throws_ok($$ select * from public.schedule_request_recalc('11111111-1111-1111-1111-111111111111') $$,
  '42501', null, 'users cannot call the coalescing functions');
select throws_ok($$ insert into public.schedule_runs (user_id, trigger, input_hash)
  values ('11111111-1111-1111-1111-111111111111', 'manual', 'x') $$, '42501', null,
  'users cannot write schedule runs');

-- As anon.
reset role;
set local role anon;
set local "request.jwt.claims" = '{"role": "anon"}';
select throws_ok($$ select id from public.sessions $$, '42501', null, 'anon reads no sessions');
select throws_ok($$ select block_key from public.session_blocks $$, '42501', null, 'anon reads no blocks');
select throws_ok($$ select user_id from public.schedule_runs $$, '42501', null, 'anon reads no runs');
reset role;

-- Coalescing: request → claim → a request during the run → finish says run again → exactly one
-- follow-up claim; then nothing more.
select is(public.schedule_request_recalc('11111111-1111-1111-1111-111111111111') ->> 'running',
  'false', 'a request with nothing running says so');
create temporary table claims (n int, token uuid);
insert into claims select 1, (public.schedule_claim_recalc('11111111-1111-1111-1111-111111111111') ->> 'claim_token')::uuid;
select isnt((select token from claims where n = 1), null, 'the first claim succeeds');
select is(public.schedule_claim_recalc('11111111-1111-1111-1111-111111111111'), null,
  'a second claim while running fails');
select is(public.schedule_request_recalc('11111111-1111-1111-1111-111111111111') ->> 'running',
  'true', 'a request during the run sees it running');
select is(public.schedule_request_recalc('11111111-1111-1111-1111-111111111111') ->> 'running',
  'true', 'so does a second one');
select is(public.schedule_finish_recalc('11111111-1111-1111-1111-111111111111', gen_random_uuid()) ->> 'finished',
  'false', 'only the claim holder can finish');
select is(public.schedule_finish_recalc('11111111-1111-1111-1111-111111111111',
  (select token from claims where n = 1)) ->> 'needs_run', 'true', 'finish reports the requests');
insert into claims select 2, (public.schedule_claim_recalc('11111111-1111-1111-1111-111111111111') ->> 'claim_token')::uuid;
select isnt((select token from claims where n = 2), null, 'exactly one follow-up claim');
select is(public.schedule_finish_recalc('11111111-1111-1111-1111-111111111111',
  (select token from claims where n = 2)) ->> 'needs_run', 'false', 'and nothing after it');
select is(public.schedule_claim_recalc('11111111-1111-1111-1111-111111111111'), null,
  'no claim without a request');

-- Apply: optimistic check on versions, then everything or nothing.
select public.schedule_request_recalc('11111111-1111-1111-1111-111111111111');
insert into claims select 3, (public.schedule_claim_recalc('11111111-1111-1111-1111-111111111111') ->> 'claim_token')::uuid;
create temporary table expected as
  select jsonb_build_object('sessions', jsonb_object_agg(id, version),
    'preferences_updated_at', (select updated_at from public.scheduling_preferences
      where user_id = '11111111-1111-1111-1111-111111111111')) as e
  from public.sessions
  where user_id = '11111111-1111-1111-1111-111111111111' and status in ('scheduled', 'unscheduled');
create temporary table plan as select jsonb_build_array(jsonb_build_object(
  'id', 'aaaaaaaa-0000-0000-0000-000000000002', 'status', 'scheduled', 'unscheduled_reason', null,
  'blocks', jsonb_build_array(jsonb_build_object('index', 0,
    'starts_at', '2030-01-08T09:00:00Z', 'ends_at', '2030-01-08T09:30:00Z')))) as changes;

select is(public.schedule_apply_plan('11111111-1111-1111-1111-111111111111', gen_random_uuid(),
  (select e from expected), 'h1', '2030-01-07', (select changes from plan),
  '{"trigger": "manual", "placed": 1}') ->> 'status', 'lease_lost',
  'a caller without the claim cannot apply');
update public.sessions set title = 'A3 renamed' where title = 'A3';
select is(public.schedule_apply_plan('11111111-1111-1111-1111-111111111111',
  (select token from claims where n = 3), (select e from expected), 'h1', '2030-01-07',
  (select changes from plan), '{"trigger": "manual", "placed": 1}') ->> 'status', 'conflict',
  'a session changed since it was read: conflict');
select is((select count(*)::int from public.schedule_runs where user_id = '11111111-1111-1111-1111-111111111111'), 0, 'a conflict writes no run');
select is((select count(*)::int from public.session_blocks
  where session_id = 'aaaaaaaa-0000-0000-0000-000000000002'), 0, 'and no blocks');

update expected set e = jsonb_set(e, '{sessions}', (select jsonb_object_agg(id, version)
  from public.sessions where user_id = '11111111-1111-1111-1111-111111111111'
    and status in ('scheduled', 'unscheduled')));
select throws_ok($$ select public.schedule_apply_plan('11111111-1111-1111-1111-111111111111',
  (select token from claims where n = 3), (select e from expected), 'h1', '2030-01-07',
  (select changes from plan)
    || '[{"id": "bbbbbbbb-0000-0000-0000-000000000001", "status": "scheduled", "blocks": []}]',
  '{"trigger": "manual", "placed": 1}') $$, '22023', null,
  'a plan touching another user''s session fails');
select is((select count(*)::int from public.session_blocks
  where session_id = 'aaaaaaaa-0000-0000-0000-000000000002'), 0,
  'all or nothing: the failed plan left no block behind');
select is((select count(*)::int from public.schedule_runs where user_id = '11111111-1111-1111-1111-111111111111'), 0, 'and no run');

select is(public.schedule_apply_plan('11111111-1111-1111-1111-111111111111',
  (select token from claims where n = 3), (select e from expected), 'h1', '2030-01-07',
  (select changes from plan),
  '{"trigger": "manual", "moved": 0, "kept": 1, "placed": 1, "unscheduled": [{"id": "x", "reason": "no_working_hours"}], "duration_ms": 3}')
  ->> 'status', 'applied', 'a current plan applies');
select results_eq($$ select block_key, starts_at from public.session_blocks
    where session_id = 'aaaaaaaa-0000-0000-0000-000000000002' $$,
  $$ values ('aaaaaaaa-0000-0000-0000-000000000002:0', '2030-01-08 09:00Z'::timestamptz) $$,
  'the block is written');
select is((select status from public.sessions where id = 'aaaaaaaa-0000-0000-0000-000000000002'),
  'scheduled', 'the session is scheduled');
select results_eq($$ select trigger, placed, unscheduled, input_hash from public.schedule_runs
    where user_id = '11111111-1111-1111-1111-111111111111' $$,
  $$ values ('manual'::text, 1, 1, 'h1'::text) $$, 'one schedule_runs row with the counts');
select results_eq($$ select last_input_hash, last_local_date, last_run_id from public.schedule_recalc_state
    where user_id = '11111111-1111-1111-1111-111111111111' $$,
  $$ select 'h1'::text, '2030-01-07'::date, id from public.schedule_runs
    where user_id = '11111111-1111-1111-1111-111111111111' $$,
  'the state remembers the hash, the local date and the run');
select is(public.schedule_apply_plan('11111111-1111-1111-1111-111111111111',
  (select token from claims where n = 3), (select e from expected), 'h2', '2030-01-07', '[]', null)
  ->> 'status', 'conflict', 'the applied plan bumped versions: re-applying the old read conflicts');

-- Roll-forward candidates: A was planned "on 2030-01-07" (a future date): not due; B never was.
select ok('22222222-2222-2222-2222-222222222222' = any (public.schedule_users_to_plan()),
  'users never planned (or planned on an earlier local date) are due');
select ok(not '11111111-1111-1111-1111-111111111111' = any (public.schedule_users_to_plan()),
  'users planned on their current local date are not');

select * from finish();
rollback;
