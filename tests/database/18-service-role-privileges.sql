-- service_role has what the admin functions need and no more: no TRUNCATE/REFERENCES/TRIGGER on
-- clients and client_schemas, no way to write the derived counts, nothing on client_data's id
-- sequence. And counts stay true when a client_schemas row is deleted while its rows remain and
-- the table is then written again, by append, upload or a bare INSERT.
begin;
select plan(32);
\ir _fixtures.psql

-- One assertion per privilege: an ok() of several ANDed checks says which one failed no more
-- than it says which ones were checked.
select ok(not has_table_privilege('service_role', 'public.clients', 'truncate'), 'service_role may not truncate clients');
select ok(not has_table_privilege('service_role', 'public.clients', 'references'), 'service_role may not reference clients');
select ok(not has_table_privilege('service_role', 'public.clients', 'trigger'), 'service_role may not add triggers to clients');
select ok(not has_table_privilege('service_role', 'public.client_schemas', 'truncate'),
          'service_role may not truncate client_schemas');
select ok(not has_table_privilege('service_role', 'public.client_schemas', 'references'),
          'service_role may not reference client_schemas');
select ok(not has_table_privilege('service_role', 'public.client_schemas', 'trigger'),
          'service_role may not add triggers to client_schemas');
select ok(has_table_privilege('service_role', 'public.clients', 'select'), 'service_role reads clients');
select ok(has_table_privilege('service_role', 'public.clients', 'insert'), 'service_role inserts clients');
select ok(has_table_privilege('service_role', 'public.clients', 'update'), 'service_role updates clients');
select ok(has_table_privilege('service_role', 'public.clients', 'delete'), 'service_role deletes clients');
select ok(not has_column_privilege('service_role', 'public.client_schemas', 'row_count', 'insert'),
          'service_role may not insert row_count');
select ok(not has_column_privilege('service_role', 'public.client_schemas', 'row_count', 'update'),
          'service_role may not update row_count');
select ok(not has_column_privilege('service_role', 'public.client_schemas', 'data_stored', 'insert'),
          'service_role may not insert data_stored');
select ok(not has_column_privilege('service_role', 'public.client_schemas', 'data_stored', 'update'),
          'service_role may not update data_stored');
select ok(has_column_privilege('service_role', 'public.client_schemas', 'schema_def', 'update'),
          'service_role may update a table''s schema_def');
select ok(has_column_privilege('service_role', 'public.client_schemas', 'data_type', 'update'),
          'service_role may update a table''s data_type');
select ok(has_table_privilege('service_role', 'public.client_schemas', 'select'), 'service_role reads client_schemas');
select ok(has_table_privilege('service_role', 'public.client_schemas', 'delete'), 'service_role deletes client_schemas rows');
select ok(not has_sequence_privilege('service_role', 'public.client_data_id_seq', 'usage'),
          'service_role has no usage on client_data''s id sequence');
select ok(not has_sequence_privilege('service_role', 'public.client_data_id_seq', 'select'),
          'service_role cannot read client_data''s id sequence');
select ok(not has_sequence_privilege('service_role', 'public.client_data_id_seq', 'update'),
          'service_role cannot update client_data''s id sequence');

select pg_temp.act_as('service_role');
select throws_ok($$select setval('public.client_data_id_seq', 1)$$, '42501', null,
                 'service_role cannot setval the id sequence');
select throws_ok($$update public.client_schemas set row_count = 1000000$$, '42501', null,
                 'service_role cannot set row_count');
select throws_ok($$insert into public.client_schemas (client_id, table_name, row_count, data_stored)
                   values ('11111111-1111-1111-1111-111111111111', 'client_11111111_fake', 1000000, true)$$,
                 '42501', null, 'service_role cannot start a table with a forged row_count');
select lives_ok($$insert into public.client_data (client_id, table_name, data)
                  values ('11111111-1111-1111-1111-111111111111', 'client_11111111_sales', '{"sku": "a-4"}')$$,
                'service_role still inserts rows (the identity needs no sequence privilege)');

-- Client A's table has 4 rows now. Its schema row goes, the rows stay, then A appends 1 row.
select is(pg_temp.rows_affected($$delete from public.client_schemas where table_name = 'client_11111111_sales'$$),
          1::bigint, 'service_role deletes client A''s schema row, leaving its 4 rows');
select is((public.append_client_data('11111111-1111-1111-1111-111111111111', 'client_11111111_sales',
                                     '[{"sku": "a-5"}]'))->>'row_count',
          '5', 'an append to the table counts the orphaned rows too');
select results_eq($$select row_count, actual_row_count, data_stored from public.client_data_summary
                     where table_name = 'client_11111111_sales'$$,
                  $$values (5::bigint, 5::bigint, true)$$, 'the summary''s row_count is the actual count after append');

-- The same through a bare INSERT: the counts trigger re-creates the row.
delete from public.client_schemas where table_name = 'client_22222222_data';
insert into public.client_data (client_id, table_name, data)
values ('22222222-2222-2222-2222-222222222222', 'client_22222222_data', '{"note": "third"}');
select results_eq($$select row_count, actual_row_count, data_stored from public.client_data_summary
                     where table_name = 'client_22222222_data'$$,
                  $$values (3::bigint, 3::bigint, true)$$, 'the summary''s row_count is the actual count after a bare INSERT');

-- And through an upload commit.
delete from public.client_schemas where table_name = 'client_22222222_data';
select (public.begin_upload('append', '22222222-2222-2222-2222-222222222222', 'client_22222222_data'))->>'upload_id' as up \gset
select is(public.stage_upload_rows(:'up', '[{"note": "fourth"}]'), 1, 'an upload stages 1 row for the orphaned table');
select is((public.commit_upload(:'up', null))->>'row_count', '4', 'the commit counts the orphaned rows too');
select ok(not exists (select from public.client_data_summary where row_count <> actual_row_count),
          'every count in the summary is true');

select * from finish();
rollback;
