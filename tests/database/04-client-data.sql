-- client_data as each caller: own rows only, cross-tenant inserts throw, rows are never changed
-- or deleted by clients, anon gets nothing.
begin;
select plan(15);
\ir _fixtures.psql

select pg_temp.act_as('authenticated', :'sub_a');
select results_eq($$select data->>'sku' from public.client_data order by created_at$$,
                  $$values ('a-1'), ('a-2'), ('a-3')$$, 'client A reads exactly its own three rows');
select is_empty($$select 1 from public.client_data where client_id = '22222222-2222-2222-2222-222222222222'$$,
                'client A reads nothing of client B, even asking by id');
select is_empty($$select 1 from public.client_data where data->>'note' like 'secret%'$$,
                'client A cannot find client B''s rows by content');
select lives_ok($$insert into public.client_data (client_id, table_name, data)
                  values ('11111111-1111-1111-1111-111111111111', 'client_11111111_sales', '{"sku": "a-4"}')$$,
                'client A can insert into its own data');
select throws_ok($$insert into public.client_data (client_id, table_name, data)
                   values ('22222222-2222-2222-2222-222222222222', 'client_22222222_data', '{"note": "planted"}')$$,
                 '42501', null, 'client A cannot insert into client B''s data');
select throws_ok($$update public.client_data set data = '{}'$$, '42501', null, 'client A cannot update rows');
select throws_ok('delete from public.client_data', '42501', null, 'client A cannot delete rows');
select throws_ok('truncate public.client_data', '42501', null, 'client A cannot truncate');
select throws_ok($$insert into public.client_data (client_id, table_name, data)
                   values ('11111111-1111-1111-1111-111111111111', 'client_11111111_sales', '[1, 2]')$$,
                 '23514', null, 'a row must be a JSON object');

select pg_temp.act_as('authenticated', :'sub_b');
select results_eq($$select data->>'note' from public.client_data order by created_at$$,
                  $$values ('secret of b #1'), ('secret of b #2')$$,
                  'client B reads exactly its own rows (nothing planted)');

select pg_temp.act_as('anon');
select throws_ok('select * from public.client_data', '42501', null, 'anon cannot read client_data');
select throws_ok($$insert into public.client_data (client_id, table_name, data)
                   values ('11111111-1111-1111-1111-111111111111', 'client_11111111_sales', '{}')$$,
                 '42501', null, 'anon cannot insert');

select pg_temp.act_as('service_role');
select is((select count(*)::int from public.client_data), 6, 'service_role sees every tenant''s rows');
select is(pg_temp.rows_affected($$delete from public.client_data where data->>'sku' = 'a-4'$$), 1::bigint,
          'service_role can delete rows');

reset role;
delete from public.clients where client_id = '22222222-2222-2222-2222-222222222222';
select is((select count(*)::int from public.client_data where client_id = '22222222-2222-2222-2222-222222222222'), 0,
          'deleting a client deletes its data (on delete cascade)');

select * from finish();
rollback;
