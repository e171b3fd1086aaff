-- What users and operators see of sync health.
--
-- calendar_sync_health: one row per watched calendar, readable by its owner through PostgREST
-- (the status page and the typed client read it). channel_status: active, expiring (within
-- the renewal lead time), expired, or none (no push channel; Calendly's subscription and
-- Notion's polling show as active/none the same way).
--
-- sync_operator_overview and friends: for the service role only — calendars per state,
-- renewals due in the next 24 hours, failed renewals, each cron job's last run, recent pg_net
-- failures.
--
-- Rollback: after 20261130000800's (views and an index, which nothing else uses):
--   drop view public.sync_operator_net_failures, public.sync_operator_cron_jobs,
--     public.sync_operator_overview, public.calendar_sync_health,
--     public.maintenance_settings_public;
--   drop index public.webhook_deliveries_connection_idx;
-- Data lost: none.

-- The renewal lead time, readable by the health view's callers (the settings table is not).
create view public.maintenance_settings_public as
  select renew_lead, backup_period, notion_poll_period from public.maintenance_settings;
grant select on public.maintenance_settings_public to authenticated, service_role;

-- The health view reads each connection's newest delivery (Calendly, Notion), on every poll of
-- the status page.
create index webhook_deliveries_connection_idx
  on public.webhook_deliveries (connection_id, received_at desc);

create view public.calendar_sync_health with (security_invoker = true) as
  select s.user_id, s.connection_id, c.provider, s.calendar_id,
    c.status as connection_status,
    c.display_name as account,
    case
      when ch.id is null then 'none'
      when ch.expiration is not null and ch.expiration <= public.app_now() then 'expired'
      when ch.expiration is not null
        and ch.expiration <= public.app_now()
          + (select renew_lead from public.maintenance_settings_public) then 'expiring'
      else 'active' end as channel_status,
    ch.expiration as channel_expires_at,
    coalesce(ch.last_notification_at, last_delivery.received_at) as last_notification_at,
    s.last_synced_at,
    coalesce(s.last_error, c.last_error) as last_error,
    s.consecutive_failures,
    s.maintenance_failures,
    s.needs_sync
  from public.calendar_sync_state s
  join public.calendar_connections c on c.id = s.connection_id
  left join lateral (
    select x.id, x.expiration, x.last_notification_at
    from public.calendar_webhook_channels x
    where x.connection_id = s.connection_id and x.calendar_id = s.calendar_id
      and x.status = 'active'
    order by x.expiration desc nulls first limit 1) ch on true
  left join lateral (
    select max(d.received_at) as received_at from public.webhook_deliveries d
    where d.connection_id = s.connection_id) last_delivery on true;
grant select on public.calendar_sync_health to authenticated, service_role;

-- Operators (service role): where every calendar stands.
create view public.sync_operator_overview as
  select h.provider, h.connection_status, h.channel_status, count(*) as calendars,
    count(*) filter (where h.channel_expires_at <= public.app_now() + interval '24 hours')
      as renewals_due_24h,
    count(*) filter (where h.maintenance_failures > 0) as failed_renewals,
    count(*) filter (where h.consecutive_failures > 0) as failing_syncs,
    min(h.last_synced_at) as oldest_sync
  from public.calendar_sync_health h
  group by h.provider, h.connection_status, h.channel_status;

-- Each cron job with its schedule and its last run.
create view public.sync_operator_cron_jobs as
  select j.jobname, j.schedule, j.active, r.status as last_status, r.start_time as last_start,
    r.end_time as last_end, r.return_message as last_message
  from cron.job j
  left join lateral (
    select d.status, d.start_time, d.end_time, d.return_message from cron.job_run_details d
    where d.jobid = j.jobid order by d.start_time desc limit 1) r on true;

-- pg_net requests that failed in the last 6 hours (pg_net keeps responses that long).
create view public.sync_operator_net_failures as
  select id, status_code, error_msg, timed_out, created, left(content, 200) as content
  from net._http_response
  where status_code >= 400 or error_msg is not null or timed_out
  order by created desc;

revoke all on public.sync_operator_overview, public.sync_operator_cron_jobs,
  public.sync_operator_net_failures from public, anon, authenticated;
grant select on public.sync_operator_overview, public.sync_operator_cron_jobs,
  public.sync_operator_net_failures to service_role;
