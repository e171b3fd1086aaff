-- pg_cron jobs: each exists with its schedule, and running its command (exactly as pg_cron
-- would) queues a request to the right function with the cron secret when there is work, and
-- nothing when there is none.
begin;
select plan(14);

-- The Vault secrets the jobs read (the local stack sets them; a test database may not have).
select vault.create_secret('http://api.example.test', 'project_url')
  where not exists (select 1 from vault.decrypted_secrets where name = 'project_url');
select vault.create_secret('a-cron-secret-of-some-length', 'cron_secret')
  where not exists (select 1 from vault.decrypted_secrets where name = 'cron_secret');

create function pg_temp.run_job(p_name text) returns void language plpgsql as $$
begin
  execute (select command from cron.job where jobname = p_name);
end
$$;
create function pg_temp.queued(p_function text) returns setof jsonb language sql as $$
  select convert_from(body, 'UTF8')::jsonb from net.http_request_queue
  where url = rtrim((select decrypted_secret from vault.decrypted_secrets where name = 'project_url'), '/')
      || '/functions/v1/' || p_function
    and headers ->> 'x-cron-secret' = (select decrypted_secret from vault.decrypted_secrets
      where name = 'cron_secret')
$$;
delete from net.http_request_queue;

select results_eq($$ select jobname::text collate "C", schedule::text collate "C" from cron.job
    where jobname in ('refresh-calendar-webhooks', 'calendar-sync-cleanup',
      'roll-forward-schedules', 'serve-plan-marks') order by jobname $$,
  $$ values ('calendar-sync-cleanup' collate "C", '23 4 * * *' collate "C"), ('refresh-calendar-webhooks', '* * * * *'),
    ('roll-forward-schedules', '17 * * * *'), ('serve-plan-marks', '* * * * *') $$,
  'every job exists with its schedule');

-- With nothing to do, no job calls a function.
select pg_temp.run_job('refresh-calendar-webhooks');
select pg_temp.run_job('roll-forward-schedules');
select pg_temp.run_job('serve-plan-marks');
select is((select count(*)::int from net.http_request_queue), 0,
  'with nothing due, no job calls a function');

-- A Google calendar without a live channel is due for renewal: dispatched in a claimed batch.
insert into auth.users (id, email) values ('11111111-1111-1111-1111-111111111111', 'a@example.test');
insert into public.calendar_connections (id, user_id, provider, external_account_id,
  refresh_token_encrypted) values ('aaaaaaaa-0000-0000-0000-000000000001',
  '11111111-1111-1111-1111-111111111111', 'google', 'a@example.test', 'v1.r');
insert into public.calendar_sync_state (connection_id, calendar_id, user_id, needs_sync,
  last_synced_at) values ('aaaaaaaa-0000-0000-0000-000000000001', 'a@example.test',
  '11111111-1111-1111-1111-111111111111', false, now());
select pg_temp.run_job('refresh-calendar-webhooks');
select is((select count(*)::int from pg_temp.queued('refresh-calendar-webhook')), 1,
  'the maintenance job sends one batch to refresh-calendar-webhook with the cron secret');
select is((select b -> 'batch' -> 0 -> 'reasons' from pg_temp.queued('refresh-calendar-webhook') b),
  '["renew"]'::jsonb, 'the batch says why the calendar is due');
select isnt((select maintenance_claim from public.calendar_sync_state
  where calendar_id = 'a@example.test'), null, 'and the calendar is claimed for it');
delete from net.http_request_queue;
select pg_temp.run_job('refresh-calendar-webhooks');
select is((select count(*)::int from net.http_request_queue), 0,
  'an overlapping run does not take the claimed calendar again');

-- When the batch dies, its claims run out and the next run takes the calendar again.
update public.app_clock set offset_interval = interval '5 minutes';
select pg_temp.run_job('refresh-calendar-webhooks');
select is((select count(*)::int from pg_temp.queued('refresh-calendar-webhook')), 1,
  'a calendar whose batch died is dispatched again once its claim ran out');
delete from net.http_request_queue;

-- A live channel far from expiry, a recent sync: nothing due.
update public.calendar_sync_state set maintenance_claim = null, maintenance_lease_until = null,
  last_synced_at = public.app_now();
insert into public.calendar_webhook_channels (provider, connection_id, user_id, calendar_id,
  channel_id, resource_id, token_hash, status, expiration) values ('google',
  'aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111',
  'a@example.test', 'channel-a', 'res-a', 'h', 'active', public.app_now() + interval '6 days');
select pg_temp.run_job('refresh-calendar-webhooks');
select is((select count(*)::int from net.http_request_queue), 0,
  'a healthy, recently synced calendar is not due');

-- Its channel nears expiry: due within the 24 h lead time; a quiet calendar: a backup is due.
update public.app_clock set offset_interval = interval '5 days 1 hour';
select pg_temp.run_job('refresh-calendar-webhooks');
select is((select b -> 'batch' -> 0 -> 'reasons' from pg_temp.queued('refresh-calendar-webhook') b),
  '["renew", "backup"]'::jsonb, 'a channel within the lead time is renewed; a quiet calendar backed up');
delete from net.http_request_queue;
update public.app_clock set offset_interval = '0';

-- The roll-forward: a user with an active session never planned.
insert into public.sessions (user_id, title, duration_minutes)
  values ('11111111-1111-1111-1111-111111111111', 'Write', 60);
select pg_temp.run_job('roll-forward-schedules');
select is((select b from pg_temp.queued('recalculate-schedule') b), '{"trigger": "roll_forward"}'::jsonb,
  'the roll-forward asks recalculate-schedule to roll forward, with the cron secret');
delete from net.http_request_queue;

-- The sweep: a plan mark older than 30 s that nobody served.
select public.schedule_mark_plan_needed('11111111-1111-1111-1111-111111111111');
select pg_temp.run_job('serve-plan-marks');
select is((select count(*)::int from net.http_request_queue), 0, 'a fresh mark is left to its run');
update public.app_clock set offset_interval = interval '1 minute';
select pg_temp.run_job('serve-plan-marks');
select is((select b from pg_temp.queued('recalculate-schedule') b), '{"sweep": true}'::jsonb,
  'an unserved mark is swept to recalculate-schedule');
update public.app_clock set offset_interval = '0';

-- The cleanup job is SQL only.
select pg_temp.run_job('calendar-sync-cleanup');
select is((select count(*)::int from net.http_request_queue where url like '%cleanup%'), 0,
  'the cleanup job calls no function');
select ok((select command like '%sync_cleanup()%' from cron.job where jobname = 'calendar-sync-cleanup'),
  'the cleanup job runs sync_cleanup()');

select * from finish();
rollback;
