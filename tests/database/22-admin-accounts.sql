-- Admin accounts and the one login lookup: service_role creates admins; get_login_credentials
-- answers a client's or an admin's email with its kind; an email belongs to one account only;
-- clients (A and B) and anon reach neither the table nor the functions.
begin;
select plan(21);
\ir _fixtures.psql

select pg_temp.act_as('service_role');
select public.create_admin_account(' Root@Console.example ', 'hash-admin') as admin \gset
select is(:'admin'::jsonb - 'admin_id' - 'created_at', '{"email": "Root@Console.example"}'::jsonb,
          'service_role creates an admin account (email trimmed)');
select results_eq($$select kind, id, auth_user_id, password_hash from public.get_login_credentials('root@console.EXAMPLE')$$,
                  format($$values ('admin'::text, %L::uuid, %L::uuid, 'hash-admin'::text)$$,
                         :'admin'::jsonb ->> 'admin_id', :'admin'::jsonb ->> 'admin_id'),
                  'an admin''s email finds kind admin, its id as the token''s sub, and its hash');
select results_eq($$select kind, id, auth_user_id, password_hash from public.get_login_credentials(' OWNER@beta.example')$$,
                  $$values ('client'::text, '22222222-2222-2222-2222-222222222222'::uuid,
                            'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'::uuid, 'hash-b'::text)$$,
                  'a client''s email finds kind client, its client_id and auth_user_id');
select is_empty($$select * from public.get_login_credentials('nobody@x.example')$$, 'an unknown email finds nothing');
select results_eq($$select client_id, auth_user_id, password_hash from public.get_client_credentials('owner@acme.example')$$,
                  $$values ('11111111-1111-1111-1111-111111111111'::uuid, '11111111-1111-1111-1111-111111111111'::uuid, 'hash-a'::text)$$,
                  'get_client_credentials still answers for clients');
select is_empty($$select * from public.get_client_credentials('root@console.example')$$,
                '... and never for an admin');

-- One email, one account.
select throws_ok($$select public.create_admin_account('ROOT@console.example', 'other')$$, '23505',
                 'an admin account with email ROOT@console.example already exists', 'an admin email is unique case-insensitively');
select throws_ok($$select public.create_admin_account('owner@ACME.example', 'x')$$, '23505',
                 'owner@ACME.example is the email of a client', 'a client''s email cannot become an admin''s');
select throws_ok($$select public.create_client_with_data('Sneaky', 'root@CONSOLE.example')$$, '23505',
                 'root@CONSOLE.example is the email of an admin account', 'an admin''s email cannot become a client''s');
select (public.begin_upload('create', null, null, 'data', null,
          '{"company_name": "Sneaky", "email": "Root@console.example"}'))->>'upload_id' as up \gset
select throws_ok(format($$select public.commit_upload(%L, '{}')$$, :'up'), '23505',
                 'Root@console.example is the email of an admin account', '... not by an upload either');
select throws_ok($$update public.clients set email = 'root@console.example' where client_id = '11111111-1111-1111-1111-111111111111'$$,
                 '23505', null, '... nor by changing a client''s email');
select is((select count(*)::int from public.get_login_credentials('root@console.example')), 1,
          'so the login lookup finds exactly one account');

select throws_ok($$select public.create_admin_account('no-at-sign', 'x')$$, '22023', null, 'an email without @ is refused');
select throws_ok($$select public.create_admin_account('a@b.example', '')$$, '22023', null, 'an empty hash is refused');
select throws_ok($$select public.create_admin_account('a@b.example', null)$$, '22023', null, 'a null hash is refused');

-- Clients and anon: no function, no table.
select pg_temp.act_as('authenticated', :'sub_a');
select throws_ok($$select public.create_admin_account('evil@x.example', 'x')$$, '42501', null,
                 'client A cannot create an admin');
select throws_ok($$select * from public.get_login_credentials('root@console.example')$$, '42501', null,
                 'client A cannot look up credentials');
select throws_ok($$select * from private.admin_accounts$$, '42501', null, 'client A cannot read the admin accounts');
select pg_temp.act_as('authenticated', :'sub_b');
select throws_ok($$insert into private.admin_accounts (email, password_hash) values ('b@x.example', 'x')$$, '42501', null,
                 'client B cannot plant an admin account');
select pg_temp.act_as('anon');
select throws_ok($$select public.create_admin_account('evil@x.example', 'x')$$, '42501', null, 'anon cannot create an admin');
select throws_ok($$select * from public.get_login_credentials('root@console.example')$$, '42501', null,
                 'anon cannot look up credentials');

select * from finish();
rollback;
