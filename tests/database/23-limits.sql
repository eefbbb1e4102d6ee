-- The database refuses what the Worker refuses, for a client's token sent straight to the data
-- API (the "second door"): cells over 64 KiB, rows over 512 columns, a schema_def that is not
-- the documented shape or makes up its row_count, uploads over 2,000,000 rows or 1 GiB staged,
-- more than 4 uploads in progress per client. As client A, client B, anon and service_role.
begin;
select plan(37);
\ir _fixtures.psql

-- A row of n columns, and a row with one cell of n bytes.
create function pg_temp.wide_row(n integer) returns jsonb language sql as
  $$ select jsonb_object_agg('c' || i, i) from generate_series(1, n) i $$;
create function pg_temp.big_cell_row(n integer) returns jsonb language sql as
  $$ select jsonb_build_object('sku', 'big', 'notes', repeat('x', n)) $$;

-- The DETAIL of the error `p_sql` raises (throws_ok checks only SQLSTATE and message).
create function pg_temp.error_detail_of(p_sql text) returns text language plpgsql as $$
declare
  v_detail text;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return v_detail;
end
$$;

-- ---- Cells and columns ----
select pg_temp.act_as('authenticated', :'sub_a');
select throws_ok(format($$select public.append_client_data(%L, 'client_11111111_sales', %L)$$,
                        :'client_a', jsonb_build_array('{"sku": "ok"}'::jsonb, pg_temp.big_cell_row(65537))),
                 '22023', 'rows[1].notes is 65537 bytes; a cell holds at most 65536 bytes',
                 'client A: a cell of 64 KiB + 1 byte is refused, naming its row and column');
select is((public.append_client_data(:'client_a', 'client_11111111_sales',
                                     jsonb_build_array(pg_temp.big_cell_row(65536))))->>'rows_stored',
          '1', 'a cell of exactly 64 KiB is stored');
select throws_ok(format($$select public.append_client_data(%L, 'client_11111111_sales', %L)$$,
                        :'client_a', jsonb_build_array(pg_temp.wide_row(513))),
                 '22023', 'rows[0] has 513 columns; a row has at most 512', 'client A: 513 columns are refused');
select is((public.append_client_data(:'client_a', 'client_11111111_wide',
                                     jsonb_build_array(pg_temp.wide_row(512))))->>'rows_stored',
          '1', '512 columns are stored');
select throws_ok(format($$select public.append_client_data(%L, 'client_11111111_sales', %L)$$,
                        :'client_a', jsonb_build_array(jsonb_build_object('doc', jsonb_build_object('text', repeat('y', 70000))))),
                 '22023', 'rows[0].doc is 70012 bytes; a cell holds at most 65536 bytes',
                 'a nested JSON cell counts as its JSON text');
-- The second door itself: a direct INSERT through the API (RLS lets a client insert its own rows).
select throws_ok(format($$insert into public.client_data (client_id, table_name, data) values (%L, 'client_11111111_sales', %L)$$,
                        :'client_a', pg_temp.big_cell_row(2 * 1024 * 1024)),
                 '23514', null, 'client A cannot insert a 2 MiB cell straight into client_data');
select throws_ok(format($$insert into public.client_data (client_id, table_name, data) values (%L, 'client_11111111_sales', %L)$$,
                        :'client_a', pg_temp.wide_row(600)),
                 '23514', null, '... nor 600 columns');
select is(public.get_client_data_count(:'client_a', 'client_11111111_sales'), 4::bigint,
          'of all that only the 64 KiB row was stored');

-- Staged rows: the detail says which row of the whole upload it is.
select (public.begin_upload('append', :'client_a', 'client_11111111_sales'))->>'upload_id' as up_a \gset
select is(public.stage_upload_rows(:'up_a', '[{"sku": "s-1"}, {"sku": "s-2"}]'), 2, 'client A stages 2 rows');
select throws_ok(format($$select public.stage_upload_rows(%L, %L)$$, :'up_a',
                        jsonb_build_array('{"sku": "s-3"}'::jsonb, pg_temp.big_cell_row(100000))),
                 '22023', 'rows[1].notes is 100000 bytes; a cell holds at most 65536 bytes',
                 'a staged batch with a big cell is refused');
select is(pg_temp.error_detail_of(format($$select public.stage_upload_rows(%L, %L)$$, :'up_a',
                                         jsonb_build_array('{"sku": "s-3"}'::jsonb, pg_temp.wide_row(513)))),
          'row 4 of the upload', '... and a wide row is named as row 4 of the whole upload');

-- ---- schema_def ----
select throws_ok(format($$select public.commit_upload(%L, '{"version": 1, "columns": [{"key": "<script>alert(1)</script>", "type": "string"}]}')$$, :'up_a'),
                 '22023', 'schema_def.columns[0].key must be 1-255 characters of a-z, 0-9 and _',
                 'client A cannot commit a schema whose column key is markup');
select throws_ok(format($$select public.commit_upload(%L, '{"version": 1, "columns": [{"key": "sku", "type": "varchar"}]}')$$, :'up_a'),
                 '22023', null, 'a column type outside the enum is refused');
select throws_ok(format($$select public.commit_upload(%L, '{"version": 2, "columns": []}')$$, :'up_a'),
                 '22023', 'schema_def.version is 2; it must be 1 (or the schema {} for none)', 'an unknown version is refused');
select throws_ok(format($$select public.commit_upload(%L, %L)$$, :'up_a',
                        jsonb_build_object('version', 1, 'columns',
                          (select jsonb_agg(jsonb_build_object('key', 'c' || i, 'type', 'string')) from generate_series(1, 513) i))),
                 '22023', 'schema_def.columns has 513 columns; at most 512', 'a schema of 513 columns is refused');
select throws_ok(format($$select public.commit_upload(%L, '{"version": 1, "columns": [{"key": "a", "type": "string"}, {"key": "a", "type": "integer"}]}')$$, :'up_a'),
                 '22023', 'schema_def.columns[1].key a is not unique', 'duplicate keys are refused');
select throws_ok(format($$select public.commit_upload(%L, '{"version": 1, "columns": [{"key": "a", "type": "string", "null_count": -3}]}')$$, :'up_a'),
                 '22023', 'schema_def.columns[0].null_count must be a non-negative integer', 'a negative count is refused');
select is(public.commit_upload(:'up_a', '{"version": 1, "row_count": 1000000, "columns": [{"key": "sku", "type": "string", "name": "<b>SKU</b>"}]}') -> 'schema_def',
          '{"version": 1, "row_count": 6, "columns": [{"key": "sku", "type": "string", "name": "<b>SKU</b>"}]}'::jsonb,
          'a made-up row_count is replaced by the true count (a header name is free text)');
-- Straight at the table: a client may write its own schema_def, but only in the documented shape.
select throws_ok($$update public.client_schemas set schema_def = '{"version": 1, "columns": [{"key": "x y", "type": "string"}]}'
                    where table_name = 'client_11111111_sales'$$,
                 '23514', null, 'client A cannot store a bad schema_def straight into client_schemas');
select is(pg_temp.rows_affected($$update public.client_schemas set schema_def = '{"version": 1, "row_count": 42, "columns": []}'
                                   where table_name = 'client_11111111_sales'$$),
          1::bigint, 'client A may store a well-formed one');
select is((select schema_def -> 'row_count' from public.get_client_schemas(:'client_a') where table_name = 'client_11111111_sales'),
          '6'::jsonb, '... and its made-up row_count (42) is the true count again');
select is((select schema_def from public.get_client_schemas(:'client_a') where table_name = 'client_11111111_wide'),
          '{}'::jsonb, 'a table without a schema yet keeps {} (no row_count put in)');

-- ---- Uploads in progress ----
select (public.begin_upload('append', :'client_a', 'client_11111111_sales'))->>'upload_id' as p1 \gset
select (public.begin_upload('append', :'client_a', 'client_11111111_sales'))->>'upload_id' as p2 \gset
select (public.begin_upload('append', :'client_a', 'client_11111111_sales'))->>'upload_id' as p3 \gset
select (public.begin_upload('append', :'client_a', 'client_11111111_sales'))->>'upload_id' as p4 \gset
select throws_ok(format($$select public.begin_upload('append', %L, 'client_11111111_sales')$$, :'client_a'),
                 'PT429', format('client %s has 4 uploads in progress; at most 4 at a time', :'client_a'),
                 'client A''s fifth upload in progress is refused');
select pg_temp.act_as('service_role');
select throws_ok(format($$select public.begin_upload('append', %L, 'client_11111111_sales')$$, :'client_a'),
                 'PT429', null, '... also when service_role begins it for client A');
select pg_temp.act_as('authenticated', :'sub_b');
select ok((public.begin_upload('append', :'client_b', 'client_22222222_data')) ? 'upload_id',
          'client B is not held back by client A''s uploads');
select pg_temp.act_as('authenticated', :'sub_a');
select lives_ok(format('select public.abort_upload(%L)', :'p1'), 'client A aborts one');
select ok((public.begin_upload('append', :'client_a', 'client_11111111_sales')) ? 'upload_id',
          '... and may begin another');
-- One left idle for over an hour is abandoned: it no longer counts, and cleanup removes it.
reset role;
set local session_replication_role = replica; -- else the updated_at trigger resets the date
update staging.uploads set updated_at = now() - interval '2 hours' where upload_id = :'p2';
set local session_replication_role = origin;
select pg_temp.act_as('authenticated', :'sub_a');
select ok((public.begin_upload('append', :'client_a', 'client_11111111_sales')) ? 'upload_id',
          'an upload idle for two hours does not count');
select pg_temp.act_as('service_role');
select is(public.cleanup_abandoned_uploads(), 1, 'cleanup_abandoned_uploads removes the abandoned one');

-- ---- Rows and bytes per upload (the counters are set close to the limits) ----
reset role;
update staging.uploads set rows_staged = 1999999 where upload_id = :'p3';
update staging.uploads set bytes_staged = 1073741824 - 100 where upload_id = :'p4';
select pg_temp.act_as('authenticated', :'sub_a');
select throws_ok(format($$select public.stage_upload_rows(%L, '[{"sku": "1"}, {"sku": "2"}]')$$, :'p3'),
                 'PT413', format('this batch would take upload %s to 2000001 rows; an upload has at most 2000000', :'p3'),
                 'a batch that takes an upload over 2,000,000 rows is refused');
select is(public.stage_upload_rows(:'p3', '[{"sku": "1"}]'), 2000000, '... one that reaches 2,000,000 exactly is staged');
select throws_ok(format($$select public.stage_upload_rows(%L, '[{"sku": "a row of more than a hundred bytes, with padding to be sure of it .............."}]')$$, :'p4'),
                 'PT413', null, 'a batch that takes an upload over 1 GiB is refused');
select is((select count(*)::int from staging.upload_rows where upload_id = :'p4'), 0, '... and nothing of it is staged');
select pg_temp.act_as('service_role');
select throws_ok(format($$select public.stage_upload_rows(%L, '[{"sku": "1"}]')$$, :'p3'),
                 'PT413', null, 'service_role is held to the same limit');
select throws_ok(format($$select public.append_client_data(%L, 'client_22222222_data', %L)$$,
                        :'client_b', jsonb_build_array(pg_temp.big_cell_row(65537))),
                 '22023', null, 'service_role cannot store a cell over 64 KiB either');

-- ---- anon reaches none of it ----
select pg_temp.act_as('anon');
select throws_ok(format($$select public.stage_upload_rows(%L, '[{}]')$$, :'p3'), '42501', null, 'anon cannot stage rows');
select throws_ok(format($$insert into public.client_data (client_id, table_name, data) values (%L, 'client_11111111_sales', '{}')$$, :'client_a'),
                 '42501', null, 'anon cannot insert rows');

select * from finish();
rollback;
