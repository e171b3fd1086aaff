-- Jobs inside the database (pg_cron) that keep Google sync alive without any outside scheduler.
-- They read the project URL and the cron secret from Vault, set once per project:
--   select vault.create_secret('https://<project-ref>.supabase.co', 'project_url');
--   select vault.create_secret('<same value as the CRON_SECRET function secret>', 'cron_secret');
-- (The local stack sets both itself.)

-- Calls an Edge Function as pg_cron, authenticated by the cron secret (verify_jwt = false on
-- the function; it checks x-cron-secret itself). pg_net sends it after the job's transaction.
create or replace function public.invoke_edge_function_from_cron(
  p_function_name text, p_body jsonb default '{}'::jsonb
) returns bigint
language plpgsql volatile security definer set search_path to '' as $$
declare
  v_project_url text;
  v_cron_secret text;
begin
  select decrypted_secret into v_project_url from vault.decrypted_secrets where name = 'project_url';
  select decrypted_secret into v_cron_secret from vault.decrypted_secrets where name = 'cron_secret';
  if v_project_url is null or v_cron_secret is null then
    raise warning 'Vault secrets project_url and cron_secret are not set; % not called', p_function_name;
    return null;
  end if;
  return net.http_post(
    url := rtrim(v_project_url, '/') || '/functions/v1/' || p_function_name,
    body := p_body,
    headers := jsonb_build_object('Content-Type', 'application/json', 'x-cron-secret', v_cron_secret),
    timeout_milliseconds := 10000
  );
end
$$;
revoke execute on function public.invoke_edge_function_from_cron(text, jsonb)
  from public, anon, authenticated;

-- Bookkeeping that needs no Google call: channels past their expiration stop receiving, old
-- stopped channels and events long past go, pg_cron's own history is trimmed.
create or replace function public.google_sync_cleanup() returns jsonb
language plpgsql volatile set search_path to '' as $$
declare
  v_expired integer;
  v_channels integer;
  v_events integer;
begin
  update public.calendar_webhook_channels set status = 'expired'
    where status in ('active', 'pending') and expiration < now();
  get diagnostics v_expired = row_count;
  delete from public.calendar_webhook_channels
    where status in ('stopped', 'expired', 'failed') and updated_at < now() - interval '7 days';
  get diagnostics v_channels = row_count;
  delete from public.calendar_events where ends_at < now() - interval '90 days';
  get diagnostics v_events = row_count;
  delete from cron.job_run_details where end_time < now() - interval '7 days';
  return jsonb_build_object('channels_expired', v_expired, 'channels_deleted', v_channels,
    'events_deleted', v_events);
end
$$;
revoke execute on function public.google_sync_cleanup() from public, anon, authenticated;
grant execute on function public.google_sync_cleanup() to service_role;

-- Hourly: renew channels expiring within 24 h (new first, old stopped after) and back-up sync
-- calendars that were quiet for 6 h or whose last sync failed. Minute 7 avoids the top of the
-- hour, when everyone's jobs run (Google asks for randomised traffic).
select cron.schedule(
  'refresh-calendar-webhooks',
  '7 * * * *',
  $$ select public.invoke_edge_function_from_cron('refresh-calendar-webhook', '{"trigger": "cron"}'::jsonb) $$
);

select cron.schedule(
  'calendar-sync-cleanup',
  '23 4 * * *',
  $$ select public.google_sync_cleanup() $$
);
