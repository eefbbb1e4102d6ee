-- client_schema_versions: version 1 when a table appears, a new version whenever its schema or
-- data type changes, nothing for row appends; readable by the owning client only, never
-- writable by clients.
begin;
select plan(14);
\ir _fixtures.psql

select results_eq($$select table_name::text, version, schema_def - 'row_count' from public.client_schema_versions order by client_id$$,
                  $$values ('client_11111111_sales'::text, 1, '{"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}]}'::jsonb),
                           ('client_22222222_data', 1, '{"version": 1, "columns": [{"key": "note", "type": "string"}]}'::jsonb)$$,
                  'each new table starts at version 1 with its schema');

select pg_temp.act_as('authenticated', :'sub_a');
select lives_ok($$select public.append_client_data('11111111-1111-1111-1111-111111111111', 'client_11111111_sales',
                                                   '[{"sku": "a-4", "qty": 1, "price": 9.5}]',
                                                   '{"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}, {"key": "price", "type": "number"}]}')$$,
                'client A re-uploads with a new column');
select results_eq($$select version, schema_def - 'row_count' from public.get_client_schema_versions('11111111-1111-1111-1111-111111111111')$$,
                  $$values (2, '{"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}, {"key": "price", "type": "number"}]}'::jsonb),
                           (1, '{"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}]}'::jsonb)$$,
                  'the new schema is version 2, newest first, and version 1 is kept');
select lives_ok($$select public.append_client_data('11111111-1111-1111-1111-111111111111', 'client_11111111_sales',
                                                   '[{"sku": "a-5"}]')$$, 'client A appends rows without a schema');
select lives_ok($$select public.append_client_data('11111111-1111-1111-1111-111111111111', 'client_11111111_sales',
                                                   '[{"sku": "a-6"}]', '{"version": 1, "columns": [{"key": "sku", "type": "string"}, {"key": "qty", "type": "integer"}, {"key": "price", "type": "number"}]}')$$,
                'client A appends rows with the same schema');
select is((select max(version) from public.client_schema_versions where table_name = 'client_11111111_sales'), 2,
          'appends (and the count updates they cause) add no version');
select lives_ok($$select public.append_client_data('11111111-1111-1111-1111-111111111111', 'client_11111111_sales',
                                                   '[]', null, 'retail')$$, 'a change of data_type alone');
select results_eq($$select version, data_type from public.get_client_schema_versions('11111111-1111-1111-1111-111111111111', 'client_11111111_sales') limit 1$$,
                  $$values (3, 'retail'::text)$$, '... is version 3');
select throws_ok($$select * from public.get_client_schema_versions('22222222-2222-2222-2222-222222222222')$$,
                 'PT404', 'client not found', 'client A cannot read client B''s history: not found');
select throws_ok($$insert into public.client_schema_versions (client_id, table_name, version, schema_def, data_type)
                   values ('11111111-1111-1111-1111-111111111111', 'client_11111111_sales', 99, '{}', 'data')$$,
                 '42501', null, 'client A cannot forge history');
select throws_ok($$delete from public.client_schema_versions$$, '42501', null, 'client A cannot erase history');

select pg_temp.act_as('anon');
select throws_ok($$select * from public.get_client_schema_versions('11111111-1111-1111-1111-111111111111')$$,
                 '42501', null, 'anon cannot read schema history');

select pg_temp.act_as('service_role');
select is((select count(*)::int from public.get_client_schema_versions('22222222-2222-2222-2222-222222222222')), 1,
          'service_role reads any client''s history');
reset role;
delete from public.clients where client_id = '11111111-1111-1111-1111-111111111111';
select is((select count(*)::int from public.client_schema_versions where client_id = '11111111-1111-1111-1111-111111111111'), 0,
          'deleting a client deletes its history');

select * from finish();
rollback;
