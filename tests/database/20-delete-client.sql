-- delete_client: only the service role may delete a client; the client goes with its rows,
-- tables, schema versions and uploads (staged rows included), and nothing of the other client.
begin;
select plan(14);
\ir _fixtures.psql

-- A pending upload of client A with a staged row, so the staging side is covered too.
select pg_temp.act_as('service_role');
select (public.begin_upload('append', :'client_a', 'client_11111111_sales'))->>'upload_id' as pending_a \gset
select is(public.stage_upload_rows(:'pending_a', '[{"sku": "staged"}]'), 1, 'client A has a staged row');
reset role;

select pg_temp.act_as('authenticated', :'sub_a');
select throws_ok(format('select public.delete_client(%L)', :'client_a'), '42501', null,
                 'client A cannot delete itself');
select pg_temp.act_as('authenticated', :'sub_b');
select throws_ok(format('select public.delete_client(%L)', :'client_a'), '42501', null,
                 'client B cannot delete client A');
select pg_temp.act_as('anon');
select throws_ok(format('select public.delete_client(%L)', :'client_a'), '42501', null,
                 'anon cannot delete a client');
reset role;
select is((select count(*)::int from public.clients), 2, 'the refused calls deleted nothing');

select pg_temp.act_as('service_role');
select lives_ok(format('select public.delete_client(%L)', :'client_a'), 'service_role deletes client A');
select throws_ok(format('select public.delete_client(%L)', :'client_a'), 'PT404',
                 format('client %s not found', :'client_a'), 'deleting it again is PT404');
select throws_ok($$select public.delete_client('99999999-9999-9999-9999-999999999999')$$, 'PT404',
                 'client 99999999-9999-9999-9999-999999999999 not found', 'an unknown client is PT404');
reset role;

select is((select count(*)::int from public.client_data where client_id = :'client_a'), 0, 'client A''s rows are gone');
select is((select count(*)::int from public.client_schemas where client_id = :'client_a'), 0, 'client A''s tables are gone');
select is((select count(*)::int from public.client_schema_versions where client_id = :'client_a'), 0,
          'client A''s schema versions are gone');
select is((select count(*)::int from staging.uploads where client_id = :'client_a')
          + (select count(*)::int from staging.upload_rows where client_id = :'client_a'), 0,
          'client A''s uploads and staged rows are gone');
select results_eq($$select (select count(*)::int from public.clients), (select count(*)::int from public.client_data),
                           (select count(*)::int from public.client_schemas)$$,
                  $$values (1, 2, 1)$$, 'client B keeps its client row, 2 rows and its table');
select pg_temp.act_as('authenticated', :'sub_b');
select is(public.get_client_data_count(:'client_b'), 2::bigint, 'client B still sees its own 2 rows');

select * from finish();
rollback;
