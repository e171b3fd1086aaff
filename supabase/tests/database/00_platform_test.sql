-- The platform pieces the migrations rely on, and RLS on calendar_connections.
begin;
select plan(24);

select has_role('anon');
select has_role('authenticated');
select has_role('service_role');
select ok((select rolbypassrls from pg_roles where rolname = 'service_role'), 'service_role bypasses RLS');
select has_function('auth', 'uid', '{}'::name[]);
select has_function('net', 'http_post', array['text', 'jsonb', 'jsonb', 'jsonb', 'integer']);
select has_view('vault', 'decrypted_secrets', 'vault.decrypted_secrets exists');
select has_extension('pg_cron');

select has_table('public', 'calendar_connections', 'calendar_connections exists');
select ok((select relrowsecurity from pg_class where oid = 'public.calendar_connections'::regclass),
  'RLS is enabled on calendar_connections');
select col_is_unique('public', 'calendar_connections',
  array['user_id', 'provider', 'external_account_id'], 'one row per user, provider and account');

-- Two users, one connection each.
insert into auth.users (id, email) values
  ('11111111-1111-1111-1111-111111111111', 'a@example.test'),
  ('22222222-2222-2222-2222-222222222222', 'b@example.test');
insert into public.calendar_connections (id, user_id, provider, external_account_id, refresh_token_encrypted)
values
  ('aaaaaaaa-0000-0000-0000-000000000001', '11111111-1111-1111-1111-111111111111', 'google', 'a@example.test', 'v1.x.y'),
  ('bbbbbbbb-0000-0000-0000-000000000002', '22222222-2222-2222-2222-222222222222', 'google', 'b@example.test', 'v1.x.y');

select throws_ok(
  $$ insert into public.calendar_connections (user_id, provider, external_account_id) values ('11111111-1111-1111-1111-111111111111', 'outlook', 'x') $$,
  '23514', null, 'provider must be google, calendly or notion');

-- As user A.
set local role authenticated;
set local "request.jwt.claims" = '{"sub": "11111111-1111-1111-1111-111111111111", "role": "authenticated"}';

select results_eq(
  $$ select external_account_id from public.calendar_connections $$,
  array['a@example.test'::text], 'user A sees only their own connection');
select throws_ok(
  $$ select refresh_token_encrypted from public.calendar_connections $$,
  '42501', null, 'user A cannot read the token ciphertext');
select throws_ok(
  $$ select access_token_encrypted from public.calendar_connections $$,
  '42501', null, 'user A cannot read the access token ciphertext');
select lives_ok(
  $$ update public.calendar_connections set sync_enabled = false $$, 'user A can pause syncing');
select throws_ok(
  $$ update public.calendar_connections set status = 'active', refresh_token_encrypted = 'forged' $$,
  '42501', null, 'user A cannot write status or tokens');
select is_empty(
  $$ update public.calendar_connections set sync_enabled = false
     where user_id = '22222222-2222-2222-2222-222222222222' returning id $$,
  'user A cannot change user B''s row');
select throws_ok(
  $$ delete from public.calendar_connections $$, '42501', null, 'users cannot delete connections');
select throws_ok(
  $$ insert into public.calendar_connections (user_id, provider, external_account_id) values ('11111111-1111-1111-1111-111111111111', 'google', 'x') $$,
  '42501', null, 'users cannot create connections directly');

-- As anon.
reset role;
set local role anon;
set local "request.jwt.claims" = '{"role": "anon"}';
select throws_ok($$ select id from public.calendar_connections $$, '42501', null, 'anon reads nothing');

-- As the service role.
reset role;
set local role service_role;
select is((select count(*)::int from public.calendar_connections
  where user_id in ('11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222')),
  2, 'the service role sees every user''s rows');
select is(
  (select refresh_token_encrypted from public.calendar_connections where id = 'bbbbbbbb-0000-0000-0000-000000000002'),
  'v1.x.y', 'the service role reads token ciphertext');
reset role;

select is(
  (select sync_enabled from public.calendar_connections where id = 'bbbbbbbb-0000-0000-0000-000000000002'),
  true, 'user B''s row is unchanged');

select * from finish();
rollback;
