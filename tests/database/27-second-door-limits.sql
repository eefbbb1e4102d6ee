-- The data API is a second door (issue 9): a client's login token is a normal `authenticated`
-- JWT, so it can call the upload and write functions straight, without the Worker. Through
-- that door, as client A: no 2 MiB cell and no 600 columns are stored or staged (functions,
-- and the tables themselves), a made-up row_count never reaches /schema, and 50,000 rows staged
-- and never committed stay invisible, count against the upload's caps and are removed by the
-- cleanup once abandoned. Client B and anon reach none of it.
begin;
select plan(20);
\ir _fixtures.psql

create function pg_temp.wide_row(n integer) returns jsonb language sql as
  $$ select jsonb_object_agg('c' || i, i) from generate_series(1, n) i $$;
create function pg_temp.big_cell_row(n integer) returns jsonb language sql as
  $$ select jsonb_build_object('sku', 'big', 'notes', repeat('x', n)) $$;
-- A batch of n small rows numbered from first.
create function pg_temp.batch(first integer, n integer) returns jsonb language sql as
  $$ select jsonb_agg(jsonb_build_object('sku', 'staged-' || i, 'qty', i) order by i)
       from generate_series(first, first + n - 1) i $$;

select pg_temp.act_as('authenticated', :'sub_a');
select (public.begin_upload('append', :'client_a', 'client_11111111_sales'))->>'upload_id' as up \gset

-- ---- A 2 MiB cell and 600 columns, every way in ----
select throws_ok(format($$select public.stage_upload_rows(%L, %L)$$, :'up', jsonb_build_array(pg_temp.big_cell_row(2 * 1024 * 1024))),
                 '22023', 'rows[0].notes is 2097152 bytes; a cell holds at most 65536 bytes',
                 'client A cannot stage a 2 MiB cell');
select throws_ok(format($$select public.stage_upload_rows(%L, %L)$$, :'up', jsonb_build_array(pg_temp.wide_row(600))),
                 '22023', 'rows[0] has 600 columns; a row has at most 512', '... nor 600 columns');
select throws_ok(format($$select public.append_client_data(%L, 'client_11111111_sales', %L)$$, :'client_a', jsonb_build_array(pg_temp.big_cell_row(2 * 1024 * 1024))),
                 '22023', null, 'append_client_data refuses a 2 MiB cell');
select throws_ok(format($$select public.append_client_data(%L, 'client_11111111_sales', %L)$$, :'client_a', jsonb_build_array(pg_temp.wide_row(600))),
                 '22023', null, '... and 600 columns');
-- Straight into the staging table (authenticated holds INSERT there for the invoker functions).
select throws_ok(format($$insert into staging.upload_rows (upload_id, client_id, seq, data) values (%L, %L, 1, %L)$$,
                        :'up', :'client_a', pg_temp.big_cell_row(2 * 1024 * 1024)),
                 '23514', null, 'a 2 MiB cell inserted straight into staging.upload_rows is refused by the table');
select throws_ok(format($$insert into staging.upload_rows (upload_id, client_id, seq, data) values (%L, %L, 1, %L)$$,
                        :'up', :'client_a', pg_temp.wide_row(600)),
                 '23514', null, '... and so are 600 columns');
select is((select count(*)::int from staging.upload_rows where upload_id = :'up'), 0, 'nothing of those was staged');

-- ---- 50,000 rows staged, never committed ----
select is(public.stage_upload_rows(:'up', pg_temp.batch(1, 5000)), 5000, 'client A stages a first batch of 5,000 rows');
select lives_ok(format($$select public.stage_upload_rows(%L, pg_temp.batch(1 + 5000 * b, 5000)) from generate_series(1, 8) b$$, :'up'),
                'and eight more');
select is(public.stage_upload_rows(:'up', pg_temp.batch(45001, 5000)), 50000, 'the tenth batch makes 50,000 rows staged');
select is((select rows_staged from staging.uploads where upload_id = :'up'), 50000::bigint,
          'the upload counts 50,000 rows staged, toward its cap of 2,000,000');
select ok((select bytes_staged from staging.uploads where upload_id = :'up') > 1000000,
          '... and their bytes, toward its cap of 1 GiB');
select is(public.get_client_data_count(:'client_a', 'client_11111111_sales'), 3::bigint,
          'none of the staged rows is visible before a commit');

-- Client B sees none of them and cannot add to them.
select pg_temp.act_as('authenticated', :'sub_b');
select is((select count(*)::int from staging.upload_rows where upload_id = :'up'), 0, 'client B sees none of A''s staged rows');
select throws_ok(format($$select public.stage_upload_rows(%L, '[{"sku": "b"}]')$$, :'up'),
                 'PT404', null, 'client B cannot stage into A''s upload');

-- ---- A made-up row_count is never what /schema serves ----
select pg_temp.act_as('authenticated', :'sub_a');
select (public.begin_upload('append', :'client_a', 'client_11111111_sales'))->>'upload_id' as small \gset
select is(public.stage_upload_rows(:'small', '[{"sku": "n-1", "qty": 1}]'), 1, 'a second upload stages 1 row');
select is((public.commit_upload(:'small', '{"version": 1, "row_count": 123456789, "columns": [{"key": "sku", "type": "string"}]}')) #> '{schema_def,row_count}',
          '4'::jsonb, 'a committed schema_def claiming 123,456,789 rows stores the true count');
select is((select schema_def -> 'row_count' from public.get_client_schemas(:'client_a') where table_name = 'client_11111111_sales'),
          '4'::jsonb, '... which is what get_client_schemas (the Worker''s /schema) serves');

-- ---- Abandoned: the cleanup removes the upload with its 50,000 rows ----
reset role;
set local session_replication_role = replica; -- else the updated_at trigger resets the date
update staging.uploads set updated_at = now() - interval '2 hours' where upload_id = :'up';
set local session_replication_role = origin;
select pg_temp.act_as('service_role');
select is(public.cleanup_abandoned_uploads(), 1, 'the abandoned upload is removed');
reset role;
select is((select count(*)::int from staging.upload_rows where upload_id = :'up'), 0, '... with all 50,000 staged rows');

select * from finish();
rollback;
