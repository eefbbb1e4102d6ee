-- After 20261204190000_count_and_default_page_cheaper: a page of 0 rows (the Worker's /count)
-- answers [] with no cursor and the same totals, and refuses the same mistakes; the default order
-- (set by query_order_sql without its per-key loop, so without a query_field lookup, page 1 and
-- cursor pages alike) gives the file order, the fingerprint and cursors that page the table
-- whole. A table with its own created_at field keeps that field as the key, and pages through it
-- without a gap. Client B and anon get nothing of client A's.
begin;
select plan(19);
\ir _query_fixtures.psql

\set stamped 'client_11111111_stamped'
-- A field named created_at whose values run against file order.
insert into public.client_schemas (client_id, table_name, schema_def) values
  (:'client_a', :'stamped', '{"version": 1, "columns": [{"key": "n", "name": "N", "type": "integer"},
                                                        {"key": "created_at", "name": "Created At", "type": "datetime"}]}');
insert into public.client_data (client_id, table_name, data, created_at)
select :'client_a', :'stamped',
       jsonb_build_object('n', g, 'created_at', to_char(timestamp '2020-01-01' - g * interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS')),
       timestamptz '2026-04-01 00:00+00' + g * interval '1 second'
  from generate_series(1, 7) g;

-- Every row of a table in pages of p_limit, each page after the previous one's cursor: the
-- labels (or n) in the order the pages gave them.
create function pg_temp.paged(p_table text, p_limit int, p_order jsonb default null) returns text language plpgsql as $$
declare
  v_page jsonb;
  v_after jsonb;
  v_out text[] := '{}';
begin
  loop
    v_page := public.query_client_data('11111111-1111-1111-1111-111111111111',
                jsonb_strip_nulls(jsonb_build_object('table', p_table, 'limit', p_limit, 'after', v_after, 'order', p_order)));
    v_out := v_out || array(select coalesce(r -> 'data' ->> 'label', r -> 'data' ->> 'n')
                              from jsonb_array_elements(v_page -> 'rows') with ordinality e(r, n) order by n);
    v_after := v_page -> 'next';
    exit when v_after is null or jsonb_typeof(v_after) = 'null';
  end loop;
  return array_to_string(v_out, ',');
end
$$;

-- Calls of private.query_field (a field name looked up) in this transaction.
set local track_functions = 'all';
create function pg_temp.field_calls() returns bigint language sql as $$
  select coalesce((select f.calls from pg_stat_xact_user_functions f
                    where f.schemaname = 'private' and f.funcname = 'query_field'), 0)
$$;

select pg_temp.act_as('authenticated', :'sub_a');

-- a page of 0 rows
select is(public.query_client_data(:'client_a', jsonb_build_object('table', :'cars', 'limit', 0, 'count', 'exact', 'order', '[]'::jsonb)),
          jsonb_build_object('table', :'cars', 'rows', '[]'::jsonb, 'next', null, 'total', 6, 'total_kind', 'exact'),
          'limit 0 with an exact count (the Worker''s /count): no rows, no cursor, the maintained total');
select is(public.query_client_data(:'client_a', jsonb_build_object('table', :'cars', 'limit', 0, 'count', 'exact',
            'filter', '{"field": "country", "op": "eq", "value": "Chile"}'::jsonb)) -> 'total',
          '3', 'limit 0 with a filter counts the matching rows');
select is(public.query_client_data(:'client_a', jsonb_build_object('table', :'cars', 'limit', 0)),
          jsonb_build_object('table', :'cars', 'rows', '[]'::jsonb, 'next', null, 'total', null, 'total_kind', null),
          'limit 0 without a count: an empty page, no cursor');
select is(pg_temp.error_of(format('select public.query_client_data(%L, %L)', :'client_a',
            jsonb_build_object('table', :'cars', 'limit', 0, 'filter', '{"field": "year", "op": "gt", "value": "old"}'::jsonb))),
          'PT400:invalid_value', 'limit 0 still refuses a value that is not of the field''s type');
select is(pg_temp.error_of(format('select public.query_client_data(%L, %L)', :'client_a',
            jsonb_build_object('table', :'cars', 'limit', 0, 'filter', '{"field": "colour", "op": "eq", "value": "red"}'::jsonb))),
          'PT400:unknown_field', '... and an unknown field');

-- the default order
select is(pg_temp.labels(:'client_a', jsonb_build_object('table', :'cars')), 'r1,r2,r3,r4,r5,r6',
          'no order: file order');
select is(pg_temp.labels(:'client_a', jsonb_build_object('table', :'cars', 'order', '[]'::jsonb)),
          pg_temp.labels(:'client_a', jsonb_build_object('table', :'cars', 'order', '[{"field": "created_at", "dir": "asc"}]'::jsonb)),
          'order [] is the page order created_at asc gives through query_order_sql');
select is(public.query_client_data(:'client_a', jsonb_build_object('table', :'cars', 'limit', 2)) -> 'next' ->> 'k',
          (private.query_order_sql(:'cars', (select private.query_columns(s.schema_def) from public.client_schemas s
                                              where s.client_id = :'client_a' and s.table_name = :'cars'), '[]', null)).fingerprint,
          'page 1''s cursor has query_order_sql''s fingerprint of the default order');
select is(public.query_client_data(:'client_a', jsonb_build_object('table', :'cars', 'limit', 2)) -> 'next' -> 'o',
          jsonb_build_array(to_jsonb(timestamp '2026-03-01 10:01')),
          '... and the second row''s created_at (UTC) as its position');
create temp table calls_before as select pg_temp.field_calls() as n;
select pg_temp.labels(:'client_a', jsonb_build_object('table', :'cars', 'limit', 2, 'order', '[]'::jsonb));
select is(pg_temp.field_calls() - (select n from calls_before), 0::bigint,
          'page 1 in the default order looks no field up (the loop the migration skips)');
select pg_temp.labels(:'client_a', jsonb_build_object('table', :'cars', 'limit', 2,
         'after', public.query_client_data(:'client_a', jsonb_build_object('table', :'cars', 'limit', 2)) -> 'next'));
select is(pg_temp.field_calls() - (select n from calls_before), 0::bigint, '... nor does a cursor page after it');
select pg_temp.labels(:'client_a', jsonb_build_object('table', :'cars', 'limit', 2, 'order', '[{"field": "year"}]'::jsonb));
select is(pg_temp.field_calls() - (select n from calls_before), 1::bigint, '... an ordered page does, once');
select is(pg_temp.paged(:'cars', 2), 'r1,r2,r3,r4,r5,r6', 'pages of 2 from page 1''s cursor on: every row once, in file order');
select is(pg_temp.paged(:'cars', 4), 'r1,r2,r3,r4,r5,r6', 'pages of 4: the same');

-- a table with its own created_at field: query_order_sql's order (by that field), paged whole
select is(pg_temp.labels(:'client_a', jsonb_build_object('table', :'stamped')), '',
          'the stamped rows have no label (n is what the pages show)');
select is(pg_temp.paged(:'stamped', 3), '7,6,5,4,3,2,1',
          'its default order is its created_at field, and pages of 3 cover it without a gap');

-- the other tenant and anon
select pg_temp.act_as('authenticated', :'sub_b');
select is(pg_temp.error_of(format('select public.query_client_data(%L, %L)', :'client_a',
            '{"limit": 0, "count": "exact", "order": []}')),
          'PT404:client_not_found', 'client B''s count of client A: 404, no total');
select is(pg_temp.error_of(format('select public.query_client_data(%L, %L)', :'client_a', '{"limit": 5}')),
          'PT404:client_not_found', 'client B''s page 1 of client A: 404, no rows');
select pg_temp.act_as('anon');
select is(pg_temp.error_of(format('select public.query_client_data(%L, %L)', :'client_a', '{"limit": 0, "count": "exact"}')),
          '42501:', 'anon may not call query_client_data');

select * from finish();
rollback;
