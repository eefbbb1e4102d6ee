-- client_schemas as each caller: own rows only; a client may describe its own tables but never
-- set the derived row_count / data_stored, and never touch another tenant's rows.
begin;
select plan(17);
\ir _fixtures.psql

select pg_temp.act_as('authenticated', :'sub_a');
select results_eq('select client_id, table_name::text from public.client_schemas',
                  $$values ('11111111-1111-1111-1111-111111111111'::uuid, 'client_11111111_sales'::text)$$,
                  'client A sees only its own schema rows');
select lives_ok($$insert into public.client_schemas (client_id, table_name, schema_def, data_type)
                  values ('11111111-1111-1111-1111-111111111111', 'client_11111111_crm', '{"version": 1, "columns": [{"key": "name", "type": "string"}]}', 'crm')$$,
                'client A can add a table of its own');
select throws_ok($$insert into public.client_schemas (client_id, table_name)
                   values ('22222222-2222-2222-2222-222222222222', 'client_22222222_evil')$$,
                 '42501', null, 'client A cannot add a table to client B');
select throws_ok($$insert into public.client_schemas (client_id, table_name, row_count, data_stored)
                   values ('11111111-1111-1111-1111-111111111111', 'client_11111111_fake', 1000000, true)$$,
                 '42501', null, 'client A cannot insert a forged row_count / data_stored');
select throws_ok($$update public.client_schemas set row_count = 1000000$$, '42501', null,
                 'client A cannot update row_count');
select throws_ok($$update public.client_schemas set data_stored = false$$, '42501', null,
                 'client A cannot update data_stored');
select is(pg_temp.rows_affected($$update public.client_schemas set schema_def = '{"version": 1, "columns": [{"key": "sku", "type": "string"}]}'
                                   where table_name = 'client_11111111_sales'$$),
          1::bigint, 'client A can update the schema of its own table');
select is(pg_temp.rows_affected($$update public.client_schemas set schema_def = '{"pwned": true}'
                                   where client_id = '22222222-2222-2222-2222-222222222222'$$),
          0::bigint, 'client A''s UPDATE of client B''s schema changes no row (RLS hides it)');
select throws_ok($$update public.client_schemas set client_id = '22222222-2222-2222-2222-222222222222'$$,
                 '42501', null, 'client A cannot move its rows to client B');
select throws_ok('delete from public.client_schemas', '42501', null, 'client A cannot delete schema rows');
select throws_ok($$insert into public.client_schemas (client_id, table_name)
                   values ('11111111-1111-1111-1111-111111111111', 'Robert''); drop table x;--')$$,
                 '23514', null, 'table names outside [a-z][a-z0-9_] are refused');

select pg_temp.act_as('authenticated', :'sub_b');
select results_eq('select client_id, table_name::text, schema_def - ''row_count'' from public.client_schemas',
                  $$values ('22222222-2222-2222-2222-222222222222'::uuid, 'client_22222222_data'::text, '{"version": 1, "columns": [{"key": "note", "type": "string"}]}'::jsonb)$$,
                  'client B sees only its own row, unchanged by client A''s update attempt');

select pg_temp.act_as('anon');
select throws_ok('select * from public.client_schemas', '42501', null, 'anon cannot read client_schemas');
select throws_ok($$insert into public.client_schemas (client_id, table_name)
                   values ('11111111-1111-1111-1111-111111111111', 'client_11111111_x')$$,
                 '42501', null, 'anon cannot write client_schemas');

select pg_temp.act_as('service_role');
select is((select count(*)::int from public.client_schemas), 3, 'service_role sees every tenant''s tables');
select results_eq($$select schema_def - 'row_count' from public.client_schemas where table_name = 'client_11111111_sales'$$,
                  $$values ('{"version": 1, "columns": [{"key": "sku", "type": "string"}]}'::jsonb)$$, 'client A''s own update took effect');
select is(pg_temp.rows_affected($$delete from public.client_schemas where table_name = 'client_11111111_crm'$$),
          1::bigint, 'service_role can delete schema rows');

select * from finish();
rollback;
