-- append_client_data: a client appends to itself only (others are "not found"), new tables get
-- their schema row, counts follow, anon is refused, service_role appends to anyone.
begin;
select plan(15);
\ir _fixtures.psql

select pg_temp.act_as('authenticated', :'sub_a');
select is(public.append_client_data('11111111-1111-1111-1111-111111111111', 'client_11111111_sales',
                                    '[{"sku": "a-4"}, {"sku": "a-5"}]'),
          '{"client_id": "11111111-1111-1111-1111-111111111111", "table_name": "client_11111111_sales",
            "rows_stored": 2, "row_count": 5}'::jsonb,
          'client A appends 2 rows to its table; the result has the new count');
select results_eq($$select data->>'sku' from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', null, 2)$$,
                  $$values ('a-5'), ('a-4')$$, 'the appended rows are the newest');
select results_eq($$select schema_def - 'row_count', data_type::text from public.client_schemas where table_name = 'client_11111111_sales'$$,
                  $$values ('{"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}]}'::jsonb, 'ecommerce'::text)$$,
                  'without a new schema the stored one is kept');
select is((public.append_client_data('11111111-1111-1111-1111-111111111111', 'client_11111111_crm',
                                     '[{"name": "x"}]', '{"version": 1, "columns": [{"key": "name", "type": "string"}]}', 'crm'))->>'row_count',
          '1', 'appending to a new table creates it');
select results_eq($$select schema_def - 'row_count', data_type::text, row_count, data_stored from public.client_schemas where table_name = 'client_11111111_crm'$$,
                  $$values ('{"version": 1, "columns": [{"key": "name", "type": "string"}]}'::jsonb, 'crm'::text, 1::bigint, true)$$,
                  'the new table has its schema, type and count');
select lives_ok($$select public.append_client_data('11111111-1111-1111-1111-111111111111', 'client_11111111_crm',
                                                   '[]', '{"version": 1, "columns": [{"key": "name", "type": "string"}, {"key": "age", "type": "integer"}]}')$$,
                'a re-upload may replace the schema');
select results_eq($$select schema_def - 'row_count' from public.client_schemas where table_name = 'client_11111111_crm'$$,
                  $$values ('{"version": 1, "columns": [{"key": "name", "type": "string"}, {"key": "age", "type": "integer"}]}'::jsonb)$$, '... and the new schema is stored');

select throws_ok($$select public.append_client_data('22222222-2222-2222-2222-222222222222', 'client_22222222_data', '[{"note": "planted"}]')$$,
                 'PT404', 'client not found',
                 'client A appending to client B: not found');
select throws_ok($$select public.append_client_data('11111111-1111-1111-1111-111111111111', 'client_11111111_sales', '[{"a": 1}, "x"]')$$,
                 '22023', 'rows[1] is a JSON string; every row must be a JSON object', 'non-object rows are refused by index');
select throws_ok($$select public.append_client_data('11111111-1111-1111-1111-111111111111', 'Bad Name', '[]')$$,
                 '22023', null, 'an unsafe table name is refused');
select is(public.get_client_data_count('11111111-1111-1111-1111-111111111111', 'client_11111111_sales'), 5::bigint,
          'refused calls stored nothing');

select pg_temp.act_as('authenticated', :'sub_b');
select is(public.get_client_data_count('22222222-2222-2222-2222-222222222222'), 2::bigint,
          'client B''s data is untouched by client A''s attempt');

select pg_temp.act_as('anon');
select throws_ok($$select public.append_client_data('11111111-1111-1111-1111-111111111111', 'client_11111111_sales', '[{}]')$$,
                 '42501', null, 'anon cannot append');

select pg_temp.act_as('service_role');
select is((public.append_client_data('22222222-2222-2222-2222-222222222222', 'client_22222222_data', '[{"note": "by admin"}]'))->>'row_count',
          '3', 'service_role appends to any client');
select throws_ok($$select public.append_client_data('99999999-9999-9999-9999-999999999999', 'client_99999999_data', '[{}]')$$,
                 'PT404', null, 'appending to a client that does not exist: not found');

select * from finish();
rollback;
