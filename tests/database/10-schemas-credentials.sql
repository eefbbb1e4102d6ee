-- get_client_schemas (clients and admins, own tables only) and get_client_credentials (the
-- login lookup: service_role only, case-insensitive email).
begin;
select plan(13);
\ir _fixtures.psql

select pg_temp.act_as('authenticated', :'sub_a');
select results_eq($$select table_name, data_type, schema_def - 'row_count', data_stored, row_count
                      from public.get_client_schemas('11111111-1111-1111-1111-111111111111')$$,
                  $$values ('client_11111111_sales'::text, 'ecommerce'::text, '{"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}]}'::jsonb, true, 3::bigint)$$,
                  'client A reads its table list with schema and counts');
select throws_ok($$select * from public.get_client_schemas('22222222-2222-2222-2222-222222222222')$$,
                 'PT404', 'client not found', 'client A asking for client B''s tables: not found');
select throws_ok($$select * from public.get_client_credentials('owner@acme.example')$$, '42501', null,
                 'a client cannot look up credentials, not even its own');

select pg_temp.act_as('authenticated', :'sub_b');
select results_eq($$select table_name, row_count from public.get_client_schemas('22222222-2222-2222-2222-222222222222')$$,
                  $$values ('client_22222222_data'::text, 2::bigint)$$, 'client B reads its own tables');
select throws_ok($$select * from public.get_client_schemas('11111111-1111-1111-1111-111111111111')$$,
                 'PT404', 'client not found', 'client B asking for client A''s tables: not found');

select pg_temp.act_as('anon');
select throws_ok($$select * from public.get_client_schemas('11111111-1111-1111-1111-111111111111')$$, '42501', null,
                 'anon cannot read schemas');
select throws_ok($$select * from public.get_client_credentials('owner@acme.example')$$, '42501', null,
                 'anon cannot look up credentials');

select pg_temp.act_as('service_role');
select results_eq($$select * from public.get_client_credentials('owner@acme.example')$$,
                  $$values ('11111111-1111-1111-1111-111111111111'::uuid, '11111111-1111-1111-1111-111111111111'::uuid, 'hash-a'::text)$$,
                  'service_role gets client_id, auth_user_id and password_hash by email');
select results_eq($$select client_id, auth_user_id from public.get_client_credentials('  OWNER@beta.EXAMPLE ')$$,
                  $$values ('22222222-2222-2222-2222-222222222222'::uuid, 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'::uuid)$$,
                  'the email matches case-insensitively (and ignores surrounding blanks)');
select is_empty($$select * from public.get_client_credentials('nobody@x.example')$$, 'an unknown email gives no row');
select is((select count(*)::int from public.get_client_schemas('22222222-2222-2222-2222-222222222222')), 1,
          'service_role reads any client''s tables');
select throws_ok($$select * from public.get_client_schemas('99999999-9999-9999-9999-999999999999')$$,
                 'PT404', 'client not found', 'the tables of a client that does not exist: not found');
insert into public.clients (client_id, company_name, email)
values ('33333333-3333-3333-3333-333333333333', 'Empty Co', 'empty@x.example');
select is_empty($$select * from public.get_client_schemas('33333333-3333-3333-3333-333333333333')$$,
                'a client without tables has an empty table list (it exists)');

select * from finish();
rollback;
