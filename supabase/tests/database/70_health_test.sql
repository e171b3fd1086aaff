-- Health views: a user sees the health of their own calendars only (channel active, expiring,
-- expired or none; last notification; last error); operator views are the service role's alone.
begin;
select plan(14);

select has_view('public', 'calendar_sync_health', 'per-calendar health exists');
select has_view('public', 'sync_operator_overview', 'the operator overview exists');
select has_view('public', 'sync_operator_cron_jobs', 'the cron job view exists');
select has_view('public', 'sync_operator_net_failures', 'the pg_net failure view exists');

insert into auth.users (id, email) values
  ('11111111-1111-1111-1111-111111111111', 'a@example.test'),
  ('22222222-2222-2222-2222-222222222222', 'b@example.test');
insert into public.calendar_connections (id, user_id, provider, external_account_id, display_name)
values
  ('aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111', 'google',
   'a@example.test', 'a@example.test'),
  ('bbbbbbbb-0000-0000-0000-000000000001', '22222222-2222-2222-2222-222222222222', 'google',
   'b@example.test', 'b@example.test');
insert into public.calendar_sync_state (connection_id, calendar_id, user_id, needs_sync,
  last_synced_at, last_error) values
  ('aaaaaaaa-0000-0000-0000-000000000001', 'primary', '11111111-1111-1111-1111-111111111111',
   false, public.app_now(), null),
  ('aaaaaaaa-0000-0000-0000-000000000001', 'team', '11111111-1111-1111-1111-111111111111',
   true, null, 'google 503'),
  ('aaaaaaaa-0000-0000-0000-000000000001', 'old', '11111111-1111-1111-1111-111111111111',
   false, null, null),
  ('aaaaaaaa-0000-0000-0000-000000000001', 'unwatched', '11111111-1111-1111-1111-111111111111',
   false, null, null),
  ('bbbbbbbb-0000-0000-0000-000000000001', 'primary', '22222222-2222-2222-2222-222222222222',
   false, public.app_now(), null);
insert into public.calendar_webhook_channels (provider, connection_id, user_id, calendar_id,
  channel_id, resource_id, token_hash, status, expiration, last_notification_at) values
  ('google', 'aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111',
   'primary', 'ch-primary', 'res-1', 'h', 'active', public.app_now() + interval '6 days',
   public.app_now() - interval '5 minutes'),
  ('google', 'aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111',
   'team', 'ch-team', 'res-2', 'h', 'active', public.app_now() + interval '2 hours', null),
  ('google', 'aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111',
   'old', 'ch-old', 'res-3', 'h', 'active', public.app_now() - interval '1 hour', null),
  ('google', 'bbbbbbbb-0000-0000-0000-000000000001', '22222222-2222-2222-2222-222222222222',
   'primary', 'ch-b', 'res-4', 'h', 'active', public.app_now() + interval '6 days', null);

select results_eq(
  $$select calendar_id, channel_status from public.calendar_sync_health
    where user_id = '11111111-1111-1111-1111-111111111111' order by calendar_id$$,
  $$values ('old', 'expired'), ('primary', 'active'), ('team', 'expiring'), ('unwatched', 'none')$$,
  'each calendar shows its channel as active, expiring (within the renewal lead), expired or none');
select is((select last_error from public.calendar_sync_health where calendar_id = 'team'),
  'google 503', 'the last error is shown');
select ok((select last_notification_at is not null from public.calendar_sync_health
  where user_id = '11111111-1111-1111-1111-111111111111' and calendar_id = 'primary'),
  'the last notification time is shown');

-- Row-level security through the view: user B sees B's calendar and nothing of A's.
set local role authenticated;
set local "request.jwt.claims" = '{"sub": "22222222-2222-2222-2222-222222222222", "role": "authenticated"}';
select results_eq($$select calendar_id from public.calendar_sync_health$$,
  $$values ('primary')$$, 'a user sees only their own calendars');
select is((select account from public.calendar_sync_health), 'b@example.test',
  'and their own account');
select throws_ok($$select * from public.sync_operator_overview$$, '42501', null,
  'users cannot read the operator overview');
select throws_ok($$select * from public.sync_operator_cron_jobs$$, '42501', null,
  'users cannot read the cron job view');
reset role;

set local role anon;
select throws_ok($$select * from public.calendar_sync_health$$, '42501', null,
  'anonymous callers cannot read health at all');
reset role;

set local role service_role;
select is((select sum(calendars)::int from public.sync_operator_overview), 5,
  'operators see every calendar in the overview');
select ok((select count(*) from public.sync_operator_cron_jobs
  where jobname = 'refresh-calendar-webhooks') = 1, 'operators see each cron job');
reset role;

select * from finish();
rollback;
