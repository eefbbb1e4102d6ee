-- client_data_summary runs as the caller (security_invoker): each client sees its own lines,
-- and row_count agrees with actual_row_count.
begin;
select plan(7);
\ir _fixtures.psql

select pg_temp.act_as('authenticated', :'sub_a');
select results_eq($$select client_id, company_name, email, table_name::text, data_type::text, data_stored, row_count, actual_row_count
                      from public.client_data_summary$$,
                  $$values ('11111111-1111-1111-1111-111111111111'::uuid, 'Acme Corp'::text, 'owner@acme.example'::text,
                            'client_11111111_sales'::text, 'ecommerce'::text, true, 3::bigint, 3::bigint)$$,
                  'client A sees one line: its own table, with matching counts');
select pg_temp.act_as('authenticated', :'sub_b');
select results_eq($$select client_id, row_count, actual_row_count from public.client_data_summary$$,
                  $$values ('22222222-2222-2222-2222-222222222222'::uuid, 2::bigint, 2::bigint)$$,
                  'client B sees only its own line');
select is_empty($$select 1 from public.client_data_summary where client_id = '11111111-1111-1111-1111-111111111111'$$,
                'client B cannot see client A in the summary');
select throws_ok('select password_hash from public.client_data_summary', '42703', null,
                 'the summary has no password_hash');

select pg_temp.act_as('anon');
select throws_ok('select * from public.client_data_summary', '42501', null, 'anon cannot read the summary');

select pg_temp.act_as('service_role');
select is((select count(*)::int from public.client_data_summary), 2, 'service_role sees every tenant');
insert into public.client_data (client_id, table_name, data)
select '22222222-2222-2222-2222-222222222222', 'client_22222222_data', '{}' from generate_series(1, 1000);
select is_empty('select 1 from public.client_data_summary where row_count <> actual_row_count',
                'row_count equals actual_row_count everywhere after a bulk insert');

select * from finish();
rollback;
