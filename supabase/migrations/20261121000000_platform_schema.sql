-- Platform schema: the connections between a user and their calendar providers.
-- One row per (user, provider, external account). OAuth tokens are stored only as AES-256-GCM
-- ciphertext made by the functions with a key the database never sees (TOKEN_ENCRYPTION_KEY),
-- so SQL can never decrypt them; signed-in users cannot even read the ciphertext columns.

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

create table public.calendar_connections (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  provider text not null check (provider in ('google', 'calendly')),
  -- Google: the account's email (its primary calendar id); Calendly: the user URI.
  external_account_id text not null,
  status text not null default 'active' check (status in ('active', 'needs_reauth', 'revoked')),
  sync_enabled boolean not null default true,
  last_sync_at timestamptz,
  last_error text,
  refresh_token_encrypted text,
  access_token_encrypted text,
  access_token_expires_at timestamptz,
  scopes text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, provider, external_account_id)
);

comment on table public.calendar_connections is
  'A user''s link to a calendar provider account. Token columns hold AES-256-GCM ciphertext made by the Edge Functions; they are readable by the service role only.';
comment on column public.calendar_connections.refresh_token_encrypted is
  'v1.<iv>.<ciphertext>: encrypted with TOKEN_ENCRYPTION_KEY, bound to the row id.';

create index calendar_connections_user_idx on public.calendar_connections (user_id);

create trigger calendar_connections_set_updated_at
  before update on public.calendar_connections
  for each row execute function public.set_updated_at();

alter table public.calendar_connections enable row level security;

-- Column privileges keep the token columns out of reach of API users entirely; RLS keeps each
-- user to their own rows. Supabase grants all table privileges to anon/authenticated by default.
revoke all on public.calendar_connections from anon, authenticated;
grant select (
  id, user_id, provider, external_account_id, status, sync_enabled, last_sync_at, last_error,
  access_token_expires_at, scopes, created_at, updated_at
) on public.calendar_connections to authenticated;
-- A user may pause or resume syncing; everything else is written by the functions.
grant update (sync_enabled) on public.calendar_connections to authenticated;
grant all on public.calendar_connections to service_role;

create policy "Users read their own connections"
  on public.calendar_connections for select to authenticated
  using ((select auth.uid()) = user_id);

create policy "Users update their own connections"
  on public.calendar_connections for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

-- Who the caller is, as the API sees it. Functions call it with a user's JWT so the API (which
-- checks the signature) does the verification for them.
create or replace function public.whoami() returns jsonb
language sql stable set search_path to '' as $$
  select jsonb_build_object('sub', auth.uid(), 'role', auth.role())
$$;
grant execute on function public.whoami() to anon, authenticated, service_role;
