-- Platform helpers every other migration uses: extensions, the updated_at trigger, the one way
-- to make SQL functions the service role's alone, the application clock, the one way pg_cron calls an Edge Function, the caller probe, and the
-- per-user limit on user-triggered work.
--
-- Rollback: last of all (every other migration uses these helpers):
--   drop function public.take_user_action, public.whoami, public.invoke_edge_function,
--     public.app_now, public.restrict_to_service_role, public.set_updated_at;
--   drop table public.user_action_limits, public.app_clock;
-- Data lost: the per-user limits of forced refreshes and re-plans, and the clock offset (0 in
-- production). The extensions stay: pgcrypto, pg_cron and pg_net belong to the platform and may
-- serve other things (dropping pg_cron drops every cron job of the database). The Vault secrets
-- project_url and cron_secret are the operator's; delete them from vault.secrets by name if
-- nothing else uses them.

create extension if not exists pgcrypto with schema extensions;
create extension if not exists pg_cron;
-- pg_net is a hosted Supabase extension; the local stack provides the same `net` functions.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net;
  end if;
end
$$;

create or replace function public.set_updated_at() returns trigger
language plpgsql set search_path to '' as $$
begin
  new.updated_at := now();
  return new;
end
$$;
revoke execute on function public.set_updated_at() from public, anon, authenticated;

-- The bundle's SQL functions are for its Edge Functions (service role) only: users never call
-- them through PostgREST. One place that says so, instead of a revoke and a grant per list.
create or replace function public.restrict_to_service_role(variadic p_functions regprocedure[])
returns void
language plpgsql volatile set search_path to '' as $$
declare
  v_function regprocedure;
begin
  foreach v_function in array p_functions loop
    execute format('revoke execute on function %s from public, anon, authenticated', v_function);
    execute format('grant execute on function %s to service_role', v_function);
  end loop;
end
$$;
revoke execute on function public.restrict_to_service_role(regprocedure[])
  from public, anon, authenticated;

-- ---------------------------------------------------------------------------------------------
-- The application clock. Every decision that depends on the time of day (leases, channel
-- renewal, backup syncs, backoff, rate limits) reads app_now(), never now() directly, so a
-- simulation can move the database's notion of time together with the emulators' clocks (30
-- simulated days run in seconds). The offset is 0 in production; only the service role and the
-- owner can change it.
create table public.app_clock (
  id boolean primary key default true check (id),
  offset_interval interval not null default '0'
);
insert into public.app_clock default values;
comment on table public.app_clock is
  'One row: an offset added to now() by app_now(). 0 in production; simulations move it.';
alter table public.app_clock enable row level security;
revoke all on public.app_clock from anon, authenticated;
grant select, update on public.app_clock to service_role;

-- Security definer: views users read call it, and it reveals nothing but a timestamp.
create or replace function public.app_now() returns timestamptz
language sql stable security definer set search_path to '' as $$
  select now() + coalesce((select offset_interval from public.app_clock), '0'::interval)
$$;
grant execute on function public.app_now() to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Calls an Edge Function as pg_cron (or a trigger), authenticated by the cron secret
-- (verify_jwt = false on the function; it checks x-cron-secret itself). pg_net sends it after
-- the calling transaction commits, so a rolled-back change calls nothing. The project URL and
-- the secret come from Vault, set once per project (the local stack sets both itself):
--   select vault.create_secret('https://<project-ref>.supabase.co', 'project_url');
--   select vault.create_secret('<same value as the CRON_SECRET function secret>', 'cron_secret');
create or replace function public.invoke_edge_function(
  p_function_name text, p_body jsonb default '{}'::jsonb, p_timeout_ms integer default 10000
) returns bigint
language plpgsql volatile security definer set search_path to '' as $$
declare
  v_project_url text;
  v_cron_secret text;
begin
  select decrypted_secret into v_project_url from vault.decrypted_secrets where name = 'project_url';
  select decrypted_secret into v_cron_secret from vault.decrypted_secrets where name = 'cron_secret';
  if v_project_url is null or v_cron_secret is null then
    raise warning 'Vault secrets project_url and cron_secret are not set; % not called',
      p_function_name;
    return null;
  end if;
  return net.http_post(
    url := rtrim(v_project_url, '/') || '/functions/v1/' || p_function_name,
    body := p_body,
    headers := jsonb_build_object('Content-Type', 'application/json',
      'x-cron-secret', v_cron_secret),
    timeout_milliseconds := p_timeout_ms
  );
end
$$;
select public.restrict_to_service_role(
  'public.invoke_edge_function(text, jsonb, integer)');

-- ---------------------------------------------------------------------------------------------
-- Who the caller is, as the API sees it. Functions that cannot verify an HS256 user token
-- locally (no JWT secret configured) ask the API, which checks the signature.
create or replace function public.whoami() returns jsonb
language sql stable set search_path to '' as $$
  select jsonb_build_object('sub', auth.uid(), 'role', auth.role())
$$;
grant execute on function public.whoami() to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- User-triggered work that costs the project's shared provider quota (a forced refresh opens
-- and stops channels; a forced re-plan rewrites a schedule) is limited per user and action.
-- pg_cron and the service role are never limited: they call without a user.
create table public.user_action_limits (
  user_id uuid not null references auth.users (id) on delete cascade,
  action text not null,
  last_at timestamptz not null,
  primary key (user_id, action)
);
alter table public.user_action_limits enable row level security;
revoke all on public.user_action_limits from anon, authenticated;
grant all on public.user_action_limits to service_role;

-- Takes the action if the last one is at least p_min_interval_seconds old. Returns 0 when taken,
-- otherwise the whole seconds to wait (for Retry-After). Atomic: two concurrent calls never
-- both get 0.
create or replace function public.take_user_action(
  p_user_id uuid, p_action text, p_min_interval_seconds integer
) returns integer
language plpgsql volatile set search_path to '' as $$
declare
  v_now timestamptz := public.app_now();
  v_last timestamptz;
begin
  insert into public.user_action_limits (user_id, action, last_at)
    values (p_user_id, p_action, v_now)
    on conflict (user_id, action) do update set last_at = v_now
      where public.user_action_limits.last_at
        <= v_now - make_interval(secs => p_min_interval_seconds)
    returning last_at into v_last;
  if found then
    return 0;
  end if;
  select last_at into v_last from public.user_action_limits
    where user_id = p_user_id and action = p_action;
  return greatest(1, ceil(extract(epoch from
    (v_last + make_interval(secs => p_min_interval_seconds)) - v_now))::integer);
end
$$;
select public.restrict_to_service_role(
  'public.take_user_action(uuid, text, integer)');
