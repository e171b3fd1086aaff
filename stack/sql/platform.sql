-- Platform pieces that a hosted Supabase project already has and that this project's
-- migrations rely on. Applied by the local stack before `supabase migration up`; never part of
-- the migrations themselves (the hosted platform owns these objects). Idempotent.
--
-- Definitions follow Supabase's own: roles and default privileges as the platform grants
-- them (so RLS, not missing grants, is what protects user tables in tests), auth helpers
-- reading `request.jwt.claims` as PostgREST sets it, and SQL-compatible stand-ins for pg_net
-- and Vault, created only when the real extensions are not installed on this server.

\set ON_ERROR_STOP on
set client_min_messages = warning;

-- Roles ---------------------------------------------------------------------------------------
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
  if not exists (select 1 from pg_roles where rolname = 'supabase_admin') then
    create role supabase_admin login superuser createdb createrole replication bypassrls;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;

-- Schemas -------------------------------------------------------------------------------------
create schema if not exists extensions;
create schema if not exists auth;
grant usage on schema extensions to anon, authenticated, service_role;
grant usage on schema auth to anon, authenticated, service_role;

-- PostgREST reads the public schema as these roles; Supabase grants table privileges by default
-- and relies on RLS policies for row access.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;

-- As on Supabase, extension objects are reachable without a schema prefix.
alter database postgres set search_path to "$user", public, extensions;
set search_path to "$user", public, extensions;

create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgtap with schema extensions;

-- auth schema (the subset GoTrue creates that migrations and policies reference) -------------
create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255) unique,
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  raw_app_meta_data jsonb default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  is_anonymous boolean not null default false,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);
grant select on auth.users to service_role;

create or replace function auth.uid() returns uuid
language sql stable set search_path to '' as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable set search_path to '' as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
language sql stable set search_path to '' as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable set search_path to '' as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;

-- pg_cron is a real extension here (Debian's postgresql-15-cron, preloaded by the stack).
create extension if not exists pg_cron;

-- pg_net stand-in -------------------------------------------------------------------------------
-- Same SQL interface as pg_net 0.x: requests are queued in net.http_request_queue and sent
-- only after the transaction commits (the stack's worker sees committed rows only and is woken
-- by NOTIFY, which Postgres also delivers only on commit); responses land in net._http_response.
do $do$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net;
    return;
  end if;

  create schema if not exists net;

  create unlogged table if not exists net.http_request_queue (
    id bigserial primary key,
    method text not null,
    url text not null,
    headers jsonb not null,
    body bytea,
    timeout_milliseconds integer not null
  );

  create unlogged table if not exists net._http_response (
    id bigint,
    status_code integer,
    content_type text,
    headers jsonb,
    content text,
    timed_out boolean,
    error_msg text,
    created timestamptz not null default now()
  );
  create index if not exists _http_response_created_idx on net._http_response (created);

  create or replace function net._enqueue(
    method text, url text, params jsonb, headers jsonb, body bytea, timeout_milliseconds integer
  ) returns bigint
  language plpgsql volatile security definer set search_path to '' as $fn$
  declare
    request_id bigint;
    full_url text := url;
    query text;
  begin
    select string_agg(pg_catalog.format('%s=%s', key, value), '&')
      into query from pg_catalog.jsonb_each_text(coalesce(params, '{}'::jsonb));
    if query is not null then
      full_url := full_url || case when pg_catalog.strpos(full_url, '?') > 0 then '&' else '?' end
        || query;
    end if;
    insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
      values (method, full_url, coalesce(headers, '{}'::jsonb), body, timeout_milliseconds)
      returning id into request_id;
    perform pg_catalog.pg_notify('net_http_request_queue', request_id::text);
    return request_id;
  end
  $fn$;

  create or replace function net.http_get(
    url text,
    params jsonb default '{}'::jsonb,
    headers jsonb default '{}'::jsonb,
    timeout_milliseconds integer default 2000
  ) returns bigint
  language sql volatile security definer set search_path to '' as $fn$
    select net._enqueue('GET', url, params, headers, null, timeout_milliseconds)
  $fn$;

  create or replace function net.http_post(
    url text,
    body jsonb default '{}'::jsonb,
    params jsonb default '{}'::jsonb,
    headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
    timeout_milliseconds integer default 2000
  ) returns bigint
  language sql volatile security definer set search_path to '' as $fn$
    select net._enqueue('POST', url, params, headers,
      pg_catalog.convert_to(body::text, 'UTF8'), timeout_milliseconds)
  $fn$;

  create or replace function net.http_delete(
    url text,
    params jsonb default '{}'::jsonb,
    headers jsonb default '{}'::jsonb,
    timeout_milliseconds integer default 2000
  ) returns bigint
  language sql volatile security definer set search_path to '' as $fn$
    select net._enqueue('DELETE', url, params, headers, null, timeout_milliseconds)
  $fn$;

  revoke all on schema net from public;
  revoke all on all functions in schema net from public;
  grant usage on schema net to service_role;
  grant execute on function net.http_get(text, jsonb, jsonb, integer),
    net.http_post(text, jsonb, jsonb, jsonb, integer),
    net.http_delete(text, jsonb, jsonb, integer) to service_role;
  grant select on net._http_response to service_role;
end
$do$;

-- Vault stand-in --------------------------------------------------------------------------------
-- Same interface as supabase_vault: vault.create_secret / vault.update_secret and the
-- vault.decrypted_secrets view. Real Vault encrypts at rest with a key outside the database;
-- this local stand-in stores the secret as is and relies on privileges alone (documented in the
-- README). Only postgres (and cron jobs running as postgres) can read it.
do $do$
begin
  if exists (select 1 from pg_available_extensions where name = 'supabase_vault') then
    create extension if not exists supabase_vault;
    return;
  end if;

  create schema if not exists vault;

  create table if not exists vault.secrets (
    id uuid primary key default gen_random_uuid(),
    name text unique,
    description text not null default '',
    secret text not null,
    key_id uuid,
    nonce bytea,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  );

  create or replace view vault.decrypted_secrets as
    select id, name, description, secret, secret as decrypted_secret, key_id, nonce,
      created_at, updated_at
    from vault.secrets;

  create or replace function vault.create_secret(
    new_secret text, new_name text default null, new_description text default '',
    new_key_id uuid default null
  ) returns uuid
  language sql volatile set search_path to '' as $fn$
    insert into vault.secrets (secret, name, description, key_id)
    values (new_secret, new_name, coalesce(new_description, ''), new_key_id)
    returning id
  $fn$;

  create or replace function vault.update_secret(
    secret_id uuid, new_secret text default null, new_name text default null,
    new_description text default null, new_key_id uuid default null
  ) returns void
  language sql volatile set search_path to '' as $fn$
    update vault.secrets set
      secret = coalesce(new_secret, secret),
      name = coalesce(new_name, name),
      description = coalesce(new_description, description),
      key_id = coalesce(new_key_id, key_id),
      updated_at = now()
    where id = secret_id
  $fn$;

  revoke all on schema vault from public;
  revoke all on all tables in schema vault from public;
  revoke all on all functions in schema vault from public;
end
$do$;
