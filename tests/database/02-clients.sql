-- clients as each caller: a client sees its own row and never a password hash; anon sees
-- nothing; only service_role writes. Plus the table's own rules: case-insensitive unique email,
-- auth_user_id defaulting to client_id, updated_at kept by trigger.
begin;
select plan(20);
\ir _fixtures.psql

-- client A
select pg_temp.act_as('authenticated', :'sub_a');
select results_eq('select client_id, company_name from public.clients',
                  $$values ('11111111-1111-1111-1111-111111111111'::uuid, 'Acme Corp'::text)$$,
                  'client A sees exactly its own client row');
select is_empty($$select 1 from public.clients where client_id = '22222222-2222-2222-2222-222222222222'$$,
                'client A cannot see client B even by id');
select throws_ok('select password_hash from public.clients', '42501', null,
                 'client A cannot read its own password_hash');
select throws_ok('select * from public.clients', '42501', null,
                 'select * fails for clients too (it includes password_hash)');
select throws_ok($$update public.clients set company_name = 'Pwned' where client_id = '22222222-2222-2222-2222-222222222222'$$,
                 '42501', null, 'client A cannot update client B');
select throws_ok($$update public.clients set company_name = 'Renamed'$$, '42501', null,
                 'client A cannot update even itself');
select throws_ok($$insert into public.clients (company_name, email) values ('Evil', 'evil@x.example')$$,
                 '42501', null, 'client A cannot create clients');
select throws_ok('delete from public.clients', '42501', null, 'client A cannot delete clients');

-- client B (its JWT sub is a Supabase Auth user id, not its client_id)
select pg_temp.act_as('authenticated', :'sub_b');
select results_eq('select client_id from public.clients',
                  $$values ('22222222-2222-2222-2222-222222222222'::uuid)$$,
                  'client B (matched through auth_user_id) sees exactly its own row');

-- a JWT whose sub matches no client
select pg_temp.act_as('authenticated', 'cccccccc-cccc-cccc-cccc-cccccccccccc');
select is_empty('select 1 from public.clients', 'an unknown authenticated user sees no clients');

-- anon
select pg_temp.act_as('anon');
select throws_ok('select client_id from public.clients', '42501', null, 'anon cannot read clients');
select throws_ok($$insert into public.clients (company_name, email) values ('Evil', 'evil@x.example')$$,
                 '42501', null, 'anon cannot create clients');

-- service_role
select pg_temp.act_as('service_role');
select results_eq('select client_id, password_hash from public.clients order by client_id',
                  $$values ('11111111-1111-1111-1111-111111111111'::uuid, 'hash-a'::text),
                           ('22222222-2222-2222-2222-222222222222'::uuid, 'hash-b'::text)$$,
                  'service_role sees every client, password_hash included');
select throws_ok($$insert into public.clients (company_name, email) values ('Dup', 'OWNER@ACME.EXAMPLE')$$,
                 '23505', null, 'email is unique case-insensitively');
select lives_ok($$insert into public.clients (client_id, company_name, email)
                  values ('33333333-3333-3333-3333-333333333333', 'Gamma', 'g@gamma.example')$$,
                'service_role creates a client');
select is((select auth_user_id from public.clients where client_id = '33333333-3333-3333-3333-333333333333'),
          '33333333-3333-3333-3333-333333333333'::uuid, 'auth_user_id defaults to client_id');
select throws_ok($$insert into public.clients (company_name, email, auth_user_id)
                   values ('Twin', 't@twin.example', '33333333-3333-3333-3333-333333333333')$$,
                 '23505', null, 'auth_user_id is unique');
select throws_ok($$insert into public.clients (company_name, email) values ('  ', 'x@y.example')$$,
                 '23514', null, 'an empty company name is refused');
reset role;
update public.clients set updated_at = '2020-01-01' , created_at = '2020-01-01'
 where client_id = '33333333-3333-3333-3333-333333333333';
select is((select updated_at from public.clients where client_id = '33333333-3333-3333-3333-333333333333'),
          now(), 'updated_at is set by the trigger, whatever the UPDATE said');
select is((select created_at from public.clients where client_id = '33333333-3333-3333-3333-333333333333'),
          '2020-01-01'::timestamptz, 'created_at is left alone');

select * from finish();
rollback;
