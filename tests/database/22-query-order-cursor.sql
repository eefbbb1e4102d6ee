-- query_client_data pages: order on any field (nulls first/last), the keyset cursor across pages
-- in several orders (no row lost or repeated), tampered cursors, select, offset, limit, totals
-- and q (full-text search).
begin;
select plan(38);
\ir _query_fixtures.psql

-- 240 rows with duplicates and nulls in every order key, and equal created_at (id breaks ties).
insert into public.client_schemas (client_id, table_name, schema_def) values
  (:'client_a', 'client_11111111_bulk', $json${"version": 1, "columns": [
     {"key": "n", "name": "N", "type": "integer"}, {"key": "grp", "name": "Group", "type": "string"},
     {"key": "at", "name": "At", "type": "datetime"}, {"key": "ok", "name": "OK", "type": "boolean"}]}$json$);
insert into public.client_data (client_id, table_name, data, created_at)
select :'client_a', 'client_11111111_bulk',
       jsonb_build_object('n', case when g % 11 = 0 then null else g % 17 end,
                          'grp', case when g % 13 = 0 then null else chr(65 + g % 5) end,
                          'at', case when g % 7 = 0 then null else format('2024-01-%s T0%s:00:00Z', lpad((1 + g % 9)::text, 2, '0'), g % 3) end,
                          'ok', case when g % 5 = 0 then null else g % 2 = 0 end),
       timestamptz '2026-04-01' + (g % 4) * interval '1 second'
  from generate_series(1, 240) g;
update public.client_data set data = jsonb_set(data, '{at}', to_jsonb(replace(data ->> 'at', ' ', '')))
 where table_name = 'client_11111111_bulk' and data ->> 'at' is not null;

-- Every id of a query, paged with the cursor, pages of p_size, in order.
create function pg_temp.paged_ids(p_query jsonb, p_size int) returns bigint[] language plpgsql as $$
declare
  v_ids bigint[] := '{}';
  v_page jsonb;
  v_after jsonb := null;
  v_pages int := 0;
begin
  loop
    v_page := public.query_client_data('11111111-1111-1111-1111-111111111111',
                                       p_query || jsonb_build_object('limit', p_size, 'after', v_after));
    v_ids := v_ids || array(select (r ->> 'id')::bigint from jsonb_array_elements(v_page -> 'rows') r);
    v_after := v_page -> 'next';
    v_pages := v_pages + 1;
    exit when v_after = 'null'::jsonb or v_pages > 200;
  end loop;
  return v_ids;
end
$$;
create function pg_temp.one_page_ids(p_query jsonb) returns bigint[] language sql as $$
  select array(select (r ->> 'id')::bigint
                 from jsonb_array_elements(public.query_client_data('11111111-1111-1111-1111-111111111111',
                                                                    p_query || '{"limit": 1000}') -> 'rows') r)
$$;

select pg_temp.act_as('authenticated', :'sub_a');

-- order
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars"}'), 'r1,r2,r3,r4,r5,r6',
          'default order: file order (created_at, id ascending)');
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars", "order": [{"field": "price", "dir": "desc", "nulls": "last"}]}'),
          'r6,r2,r1,r5,r4,r3', 'number desc nulls last');
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars", "order": [{"field": "price", "dir": "asc", "nulls": "first"}]}'),
          'r3,r4,r5,r1,r2,r6', 'number asc nulls first');
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars", "order": [{"field": "seen_at", "dir": "asc"}]}'),
          'r5,r1,r2,r3,r6,r4', 'datetime asc by instant (zones honoured), nulls last by default');
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars", "order": [{"field": "Country"}, {"field": "year", "dir": "desc"}]}'),
          'r5,r6,r4,r1,r3,r2', 'two keys, by header text');
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars", "order": [{"field": "year"}]}'),
          'r1,r2,r3,r4,r6,r5', 'ties (1957 = 1957.0) broken by id');
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars", "order": [{"field": "created_at", "dir": "desc"}]}'),
          'r6,r5,r4,r3,r2,r1', 'created_at desc: newest first');

-- the cursor: paging equals one big page, in several orders
select is(pg_temp.paged_ids('{"table": "client_11111111_bulk"}', 7),
          pg_temp.one_page_ids('{"table": "client_11111111_bulk"}'), 'default order: pages of 7 = one page');
select is(cardinality(pg_temp.paged_ids('{"table": "client_11111111_bulk"}', 7)), 240, 'every row, once');
select is(pg_temp.paged_ids('{"table": "client_11111111_bulk", "order": [{"field": "created_at", "dir": "desc"}]}', 9),
          pg_temp.one_page_ids('{"table": "client_11111111_bulk", "order": [{"field": "created_at", "dir": "desc"}]}'),
          'created_at desc (equal created_at): pages = one page');
select is(pg_temp.paged_ids('{"table": "client_11111111_bulk", "order": [{"field": "n", "dir": "desc", "nulls": "last"}]}', 10),
          pg_temp.one_page_ids('{"table": "client_11111111_bulk", "order": [{"field": "n", "dir": "desc", "nulls": "last"}]}'),
          'n desc nulls last: pages = one page');
select is(pg_temp.paged_ids('{"table": "client_11111111_bulk", "order": [{"field": "n", "dir": "asc", "nulls": "first"}]}', 10),
          pg_temp.one_page_ids('{"table": "client_11111111_bulk", "order": [{"field": "n", "dir": "asc", "nulls": "first"}]}'),
          'n asc nulls first: pages = one page');
select is(pg_temp.paged_ids('{"table": "client_11111111_bulk", "order": [{"field": "grp", "nulls": "first"}, {"field": "at", "dir": "desc", "nulls": "last"}, {"field": "ok"}]}', 6),
          pg_temp.one_page_ids('{"table": "client_11111111_bulk", "order": [{"field": "grp", "nulls": "first"}, {"field": "at", "dir": "desc", "nulls": "last"}, {"field": "ok"}]}'),
          'three keys of three types, mixed directions and nulls: pages = one page');
select is((select count(distinct x)::int from unnest(pg_temp.paged_ids('{"table": "client_11111111_bulk", "order": [{"field": "grp", "nulls": "first"}, {"field": "at", "dir": "desc", "nulls": "last"}, {"field": "ok"}]}', 6)) x),
          240, '… and no row repeated');
select is(pg_temp.paged_ids('{"table": "client_11111111_bulk", "filter": {"field": "grp", "op": "in", "value": ["A", "C"]}, "order": [{"field": "at"}]}', 5),
          pg_temp.one_page_ids('{"table": "client_11111111_bulk", "filter": {"field": "grp", "op": "in", "value": ["A", "C"]}, "order": [{"field": "at"}]}'),
          'filtered and ordered: pages = one page');
select ok(cardinality(pg_temp.one_page_ids('{"table": "client_11111111_bulk", "filter": {"field": "grp", "op": "in", "value": ["A", "C"]}}')) between 80 and 100,
          'the filtered set is not trivially small');
select is(public.query_client_data(:'client_a', '{"table": "client_11111111_bulk", "limit": 240}') -> 'next', 'null'::jsonb,
          'the last page has no next');
select isnt(public.query_client_data(:'client_a', '{"table": "client_11111111_bulk", "limit": 239}') -> 'next', 'null'::jsonb,
            'a page with rows after it has a next');

-- tampered cursors
\set page1 '(public.query_client_data(''11111111-1111-1111-1111-111111111111'', ''{"table": "client_11111111_bulk", "limit": 5, "order": [{"field": "n"}]}'') -> ''next'')'
select is(pg_temp.error_of(format($$select public.query_client_data('11111111-1111-1111-1111-111111111111', '{"table": "client_11111111_bulk", "order": [{"field": "n", "dir": "desc"}], "after": %s}')$$, :page1)),
          'PT400:invalid_cursor', 'a cursor of another order is refused');
select is(pg_temp.error_of(format($$select public.query_client_data('11111111-1111-1111-1111-111111111111', '{"table": "client_11111111_cars", "order": [{"field": "n"}], "after": %s}')$$, :page1)),
          'PT400:unknown_field', 'a cursor of another table (whose order field does not exist there) is refused');
select is(pg_temp.error_of(format('select public.query_client_data(%L, %L)', :'client_a',
                                  jsonb_build_object('table', 'client_11111111_bulk', 'order', '[{"field": "n"}]'::jsonb,
                                                     'after', jsonb_set(:page1, '{o,0}', '"x'' or true --"')))),
          'PT400:invalid_cursor', 'a cursor value of the wrong type is refused');
select is(pg_temp.error_of(format('select public.query_client_data(%L, %L)', :'client_a',
                                  jsonb_build_object('table', 'client_11111111_bulk', 'order', '[{"field": "n"}]'::jsonb,
                                                     'after', jsonb_set(:page1, '{id}', '"1); drop table public.clients; --"')))),
          'PT400:invalid_cursor', 'a cursor id that is not a number is refused');
select is((select count(*)::int
             from jsonb_array_elements(public.query_client_data(:'client_a',
                    jsonb_build_object('table', 'client_11111111_bulk', 'order', '[{"field": "n"}]'::jsonb, 'limit', 1000,
                                       'after', jsonb_set(jsonb_set(:page1, '{id}', '0'), '{o,0}', '-1'))) -> 'rows') r
            where r ->> 'table_name' = 'client_11111111_bulk'
              and (r ->> 'id')::bigint in (select id from public.client_data where client_id = :'client_a')),
          240, 'an edited cursor only moves within the caller''s rows (n = -1, nulls last: all 240 come after)');
select is(pg_temp.error_of($$select public.query_client_data('11111111-1111-1111-1111-111111111111', '{"table": "client_11111111_bulk", "after": {"o": [], "id": 1}}')$$),
          'PT400:invalid_cursor', 'a hand-made cursor is refused');
select is(pg_temp.error_of($$select public.query_client_data('11111111-1111-1111-1111-111111111111', '{"table": "client_11111111_bulk", "after": "abc"}')$$),
          'PT400:invalid_cursor', 'a cursor that is not an object is refused');

-- select, offset, limit
select is(public.query_client_data(:'client_a', '{"table": "client_11111111_cars", "select": ["Unit Price", "country", "price"], "limit": 1}') -> 'rows' -> 0 -> 'data',
          '{"price": 10.5, "country": "Chile"}'::jsonb, 'select by key and header, each field once');
select is(public.query_client_data(:'client_a', '{"table": "client_11111111_cars", "select": ["price", "id"], "limit": 1}') -> 'rows' -> 0 ?& array['id', 'created_at', 'table_name'],
          true, 'a selected row keeps id, created_at and table_name');
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars", "offset": 2, "limit": 3}'), 'r3,r4,r5', 'offset and limit');
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars", "limit": 0}'), '', 'limit 0: no rows');
select is((select count(*)::int from jsonb_array_elements(public.query_client_data(:'client_a', '{"table": "client_11111111_bulk"}') -> 'rows')),
          100, 'the default limit is 100');

-- totals
select is(public.query_client_data(:'client_a', '{"table": "client_11111111_bulk", "count": "exact", "limit": 1}') -> 'total', '240'::jsonb,
          'unfiltered exact total (the maintained row_count)');
select is(public.query_client_data(:'client_a', '{"table": "client_11111111_cars", "count": "exact", "filter": {"field": "country", "op": "eq", "value": "Chile"}, "limit": 1}') -> 'total',
          '3'::jsonb, 'filtered exact total');
select is(public.query_client_data(:'client_a', '{"table": "client_11111111_cars", "count": "estimated", "filter": {"field": "country", "op": "eq", "value": "Chile"}}') ->> 'total_kind',
          'estimated', 'estimated total is labelled so');
select ok((public.query_client_data(:'client_a', '{"table": "client_11111111_cars", "count": "estimated", "filter": {"field": "country", "op": "eq", "value": "Chile"}}') ->> 'total')::int >= 1,
          'estimated total is a number');
select is(public.query_client_data(:'client_a', '{"table": "client_11111111_cars"}') -> 'total', 'null'::jsonb, 'no total unless asked');

-- q: full-text search over the text fields
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars", "q": "kuwait"}'), 'r2,r3', 'q finds a word in any text field, any case');
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars", "q": "chile female"}'), 'r6', 'q: all words must match');
select is(pg_temp.labels(:'client_a', '{"table": "client_11111111_cars", "q": "\"quoted\" or argentina"}'), 'r3,r5', 'q: web search syntax (or)');

select * from finish();
rollback;
