-- Uploads that append to an existing client, by the client itself and by service_role: staged
-- rows are invisible everywhere until the commit, other tenants can neither see nor drive an
-- upload, an Idempotency-Key is per client, and the schema history grows only on a change.
begin;
select plan(38);
\ir _fixtures.psql

select pg_temp.act_as('authenticated', :'sub_a');
select (public.begin_upload('append', :'client_a', 'client_11111111_sales', 'ecommerce', 'same-key'))->>'upload_id' as up_a \gset
select is(public.stage_upload_rows(:'up_a', '[{"sku": "a-4", "qty": 1, "price": 9.5}, {"sku": "a-5", "qty": 2, "price": 3}]'), 2,
          'client A stages 2 rows into its own table');

-- Staged rows are nowhere to be seen, not even by their owner.
select is(public.get_client_data_count(:'client_a', 'client_11111111_sales'), 3::bigint,
          'staged rows are not counted by get_client_data_count');
select results_eq($$select data->>'sku' from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', null, 10)$$,
                  $$values ('a-3'), ('a-2'), ('a-1')$$, 'staged rows are not listed by get_client_data_filtered');
select is_empty($$select * from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', null, 10, '{"sku": "a-4"}')$$,
                'a filter does not find a staged row');
select is((select count(*)::int from public.client_data where data ? 'price'), 0, 'client_data has no staged row');
select results_eq($$select row_count, actual_row_count from public.client_data_summary where table_name = 'client_11111111_sales'$$,
                  $$values (3::bigint, 3::bigint)$$, 'the summary view counts no staged row');

-- Client B can neither see nor drive client A's upload.
select pg_temp.act_as('authenticated', :'sub_b');
select is_empty($$select upload_id from staging.uploads$$, 'client B sees none of client A''s uploads');
select is_empty($$select upload_id from staging.upload_rows$$, 'client B sees none of client A''s staged rows');
select throws_ok(format('select public.stage_upload_rows(%L, ''[{"sku": "planted"}]'')', :'up_a'), 'PT404',
                 format('upload %s not found', :'up_a'), 'client B cannot stage into client A''s upload');
select throws_ok(format('select public.commit_upload(%L, ''{}'')', :'up_a'), 'PT404', null,
                 'client B cannot commit client A''s upload');
select throws_ok(format('select public.abort_upload(%L)', :'up_a'), 'PT404', null,
                 'client B cannot abort client A''s upload');
select throws_ok($$select public.begin_upload('append', '11111111-1111-1111-1111-111111111111', 'client_11111111_sales')$$,
                 'PT404', 'client not found',
                 'client B cannot begin an upload to client A');
select throws_ok(format($$insert into staging.upload_rows (upload_id, client_id, seq, data)
                          values (%L, '11111111-1111-1111-1111-111111111111', 99, '{}')$$, :'up_a'),
                 '42501', null, 'client B cannot plant staged rows for client A');

select pg_temp.act_as('authenticated', :'sub_a');
select is(public.commit_upload(:'up_a', '{"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}, {"key": "price", "type": "number"}]}') - 'created_at',
          '{"client_id": "11111111-1111-1111-1111-111111111111", "table_name": "client_11111111_sales",
            "data_type": "ecommerce", "schema_def": {"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}, {"key": "price", "type": "number"}], "row_count": 5},
            "rows_stored": 2, "row_count": 5, "schema_version": 2}'::jsonb,
          'client A commits: 2 rows stored, 5 in the table, a new schema version, no client fields');
select results_eq($$select data->>'sku' from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', null, 2)$$,
                  $$values ('a-5'), ('a-4')$$, 'the committed rows are the newest, in staging order');
select results_eq($$select row_count, actual_row_count, data_stored from public.client_data_summary where table_name = 'client_11111111_sales'$$,
                  $$values (5::bigint, 5::bigint, true)$$, 'the counts follow the commit');
select results_eq($$select version, schema_def - 'row_count' from public.get_client_schema_versions('11111111-1111-1111-1111-111111111111')$$,
                  $$values (2, '{"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}, {"key": "price", "type": "number"}]}'::jsonb),
                           (1, '{"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}]}'::jsonb)$$,
                  'the new schema is stored and the old one kept in the history');

select is((public.begin_upload('append', :'client_a', 'client_11111111_sales', 'ecommerce', 'same-key'))->'result',
          (select result from staging.uploads where upload_id = :'up_a'),
          'retrying with the same key replays the stored result');
select is(public.get_client_data_count(:'client_a'), 5::bigint, '... and stores nothing again');

select throws_ok(format('select public.commit_upload(%L, ''{}'')', :'up_a'), 'PT409',
                 format('upload %s is already committed', :'up_a'), 'a committed upload cannot be committed again');
select throws_ok(format('select public.stage_upload_rows(%L, ''[{}]'')', :'up_a'), 'PT409',
                 format('upload %s is committed; only a pending upload accepts rows', :'up_a'),
                 'a committed upload takes no more rows');
select throws_ok(format('select public.abort_upload(%L)', :'up_a'), 'PT409',
                 format('upload %s is already committed; it cannot be aborted', :'up_a'),
                 'a committed upload cannot be aborted');

-- Same schema again: no new version; no schema at all: the stored one stays.
select (public.begin_upload('append', :'client_a', 'client_11111111_sales'))->>'upload_id' as up_a2 \gset
select is(public.stage_upload_rows(:'up_a2', '[{"sku": "a-6"}]'), 1, 'a second upload stages a row');
select results_eq(format($$select r->>'schema_version', r->>'data_type', r->>'row_count'
                           from public.commit_upload(%L, '{"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}, {"key": "price", "type": "number"}]}') r$$, :'up_a2'),
                  $$values ('2', 'ecommerce', '6')$$,
                  'an unchanged schema adds no version, and the begin''s default data_type does not replace the table''s');

-- A new table by upload takes the data_type given at begin.
select (public.begin_upload('append', :'client_a', null, 'crm'))->>'upload_id' as up_a3 \gset
select is(public.stage_upload_rows(:'up_a3', '[{"name": "x"}]'), 1, 'an upload to a new table stages a row');
select results_eq(format($$select r->>'table_name', r->>'data_type', r->>'schema_version', r->>'row_count'
                           from public.commit_upload(%L, null) r$$, :'up_a3'),
                  $$values ('client_11111111_crm', 'crm', '1', '1')$$,
                  'the new table is named after the client and data_type, at version 1');

-- Keys are per client: client B may use client A's key for its own upload.
select pg_temp.act_as('authenticated', :'sub_b');
select results_eq($$select r->>'replayed', r->>'status'
                      from public.begin_upload('append', '22222222-2222-2222-2222-222222222222', 'client_22222222_data',
                                               'data', 'same-key') r$$,
                  $$values ('false', 'pending')$$, 'client B''s upload with client A''s key is its own');
select (u.upload_id) as up_b from staging.uploads u where u.status = 'pending' \gset
select is(public.stage_upload_rows(:'up_b', '[{"note": "b #3"}]'), 1, 'client B stages a row');
select is((public.commit_upload(:'up_b', null))->>'row_count', '3', 'client B commits its own upload');

-- service_role appends to any client, with the same protocol.
select pg_temp.act_as('service_role');
select (public.begin_upload('append', :'client_b', 'client_22222222_data'))->>'upload_id' as up_s \gset
select is(public.stage_upload_rows(:'up_s', '[{"note": "by admin"}]'), 1, 'service_role stages for client B');
select is(public.get_client_data_count(:'client_b'), 3::bigint, '... invisible to service_role too before the commit');
select results_eq(format($$select r->>'row_count', (r->'schema_def') - 'row_count' from public.commit_upload(%L, null) r$$, :'up_s'),
                  $$values ('4', '{"version": 1, "columns": [{"key": "note", "type": "string"}]}'::jsonb)$$,
                  'service_role commits for client B; without a schema the answer has the stored one');
select throws_ok($$select public.begin_upload('append', '99999999-9999-9999-9999-999999999999', 'client_99999999_data')$$,
                 'PT404', null, 'an upload to a client that does not exist: not found');

select pg_temp.act_as('authenticated', :'sub_a');
select is(public.get_client_data_count(:'client_a'), 7::bigint, 'client A has its 3 + 2 + 1 + 1 rows');
select throws_ok(format('select public.get_client_data_count(%L)', :'client_b'), 'PT404', 'client not found',
                 'client A still cannot see client B''s rows');

select pg_temp.act_as('anon');
select throws_ok($$select public.begin_upload('append', '11111111-1111-1111-1111-111111111111', 'client_11111111_sales')$$,
                 '42501', null, 'anon cannot begin an upload');
select throws_ok(format('select public.stage_upload_rows(%L, ''[{}]'')', :'up_a2'), '42501', null,
                 'anon cannot stage rows');
select throws_ok(format('select public.commit_upload(%L, null)', :'up_a2'), '42501', null, 'anon cannot commit');

select * from finish();
rollback;
