-- On-demand field indexes (20261202110000_field_indexes): who may request, drop and build them;
-- the values the trigger and the backfill keep; and, with EXPLAIN as client A (authenticated,
-- RLS on), that the compiled query reaches the selective filter through
-- client_data_field_values_search and the sort through the field's sort index, with no Sort.
-- Client A's table `big` has 20,000 rows: code has 2,000 values (10 rows each, 0.05 %), price
-- is 0.00..999.99, region has 10 values (10 % each: too many for the index, the walk wins).
begin;
select plan(38);
\ir _fixtures.psql

\set big 'client_11111111_big'
insert into public.client_schemas (client_id, table_name, schema_def, data_type) values
  (:'client_a', :'big', $json${"version": 1, "columns": [
     {"key": "n", "name": "N", "type": "integer"}, {"key": "code", "name": "Code", "type": "string"},
     {"key": "price", "name": "Price", "type": "number"}, {"key": "region", "name": "Region", "type": "string"},
     {"key": "day", "name": "Day", "type": "date"}]}$json$, 'big');
insert into public.client_data (client_id, table_name, data, created_at)
select :'client_a', :'big',
       jsonb_build_object('n', g, 'code', 'c' || ((g * 7919) % 2000), 'price', ((g::bigint * 104729) % 100000) / 100.0,
                          'region', 'r' || (g % 10), 'day', (date '2024-01-01' + g % 366)::text),
       timestamptz '2026-01-01 00:00+00' + g * interval '1 second'
  from generate_series(1, 20000) g;

-- The page query query_client_data runs for a plan, as the caller (same compiler calls).
create function pg_temp.page_sql(p_client uuid, p_table text, p_filter jsonb, p_order jsonb) returns text
language plpgsql as $$
declare
  v_columns jsonb := (select private.query_columns(s.schema_def) from public.client_schemas s
                       where s.client_id = p_client and s.table_name = p_table);
  v_order record;
begin
  select * into v_order from private.query_order_sql(p_table, v_columns, p_order, null);
  return format('select d.id from public.client_data d where %s order by %s limit 101',
                private.query_where_sql(p_client, p_table, v_columns, p_filter, null), v_order.order_sql);
end
$$;

create function pg_temp.total(p_filter jsonb) returns bigint language sql as $$
  select (public.query_client_data('11111111-1111-1111-1111-111111111111',
            jsonb_build_object('table', 'client_11111111_big', 'filter', p_filter, 'count', 'exact', 'limit', 0)) ->> 'total')::bigint
$$;

\set code_eq '{"field": "code", "op": "eq", "value": "c42"}'
\set price_range '{"and": [{"field": "Price", "op": "gte", "value": "100"}, {"field": "price", "op": "lt", "value": "100.5"}]}'

-- Before any index: the answers the indexes must not change.
select pg_temp.act_as('authenticated', :'sub_a');
create temp table before_index as
select pg_temp.total(:'code_eq') as code_eq, pg_temp.total(:'price_range') as price_range,
       pg_temp.total('{"field": "code", "op": "in", "value": ["c42", "c43", "nope"]}') as code_in,
       pg_temp.total('{"field": "day", "op": "gte", "value": "2024-12-30"}') as day_gte,
       public.query_client_data(:'client_a', jsonb_build_object('table', :'big', 'order', '[{"field": "price", "dir": "desc"}]'::jsonb, 'limit', 20)) -> 'rows' as by_price;
select is(code_eq, 10::bigint, 'code c42 is 10 rows of 20,000') from before_index;
select doesnt_match(pg_temp.plan_of(pg_temp.page_sql(:'client_a', :'big', :'code_eq', null)), 'field_values',
                    'without an index the filter walks client_data');

-- Who may request: only service_role
select pg_temp.act_as('authenticated', :'sub_a');
select throws_ok($$select public.request_client_data_index('11111111-1111-1111-1111-111111111111', 'client_11111111_big', 'code')$$,
                 '42501', null, 'client A cannot request an index');
select throws_ok($$select public.maintain_client_data_indexes()$$, '42501', null, 'client A cannot run the maintenance');
select throws_ok($$select public.drop_client_data_index('11111111-1111-1111-1111-111111111111', 'client_11111111_big', 'code')$$,
                 '42501', null, 'client A cannot drop an index');
select pg_temp.act_as('anon');
select throws_ok($$select public.request_client_data_index('11111111-1111-1111-1111-111111111111', 'client_11111111_big', 'code')$$,
                 '42501', null, 'anon cannot request an index');

select pg_temp.act_as('service_role');
select is(public.request_client_data_index(:'client_a', :'big', 'code') ->> 'state', 'building', 'service_role requests code');
select is(public.request_client_data_index(:'client_a', :'big', 'Price', true) ->> 'field', 'price',
          'a field is named by its header text too; price is also sorted');
select is(public.request_client_data_index(:'client_a', :'big', 'day') ->> 'value_type', 'date', 'day is indexed as a date');
select throws_ok($$select public.request_client_data_index('11111111-1111-1111-1111-111111111111', 'client_11111111_big', 'nope')$$,
                 'PT400', 'unknown field nope', 'an unknown field: the query language''s unknown_field');
select throws_ok($$select public.request_client_data_index('11111111-1111-1111-1111-111111111111', 'client_11111111_none', 'code')$$,
                 'PT404', null, 'an unknown table: 404');
select throws_ok($$select public.request_client_data_index('33333333-3333-3333-3333-333333333333', 'client_11111111_big', 'code')$$,
                 'PT404', null, 'an unknown client: 404');

-- Not ready yet: the filter does not use values that may be incomplete.
select is(pg_temp.total(:'code_eq'), 10::bigint, 'while building, the answer is the same');

-- Rows inserted while building get their values from the trigger; the backfill adds the rest.
insert into public.client_data (client_id, table_name, data, created_at)
values (:'client_a', :'big', '{"n": 20001, "code": "c42", "price": 100.25, "region": "r1", "day": "2024-12-31"}', '2026-02-01 00:00+00');
select is((select count(*)::int from public.client_data_field_values where client_id = :'client_a' and row_id =
             (select max(id) from public.client_data where client_id = :'client_a')),
          3, 'a row inserted while building has its 3 values at once');
create temp table maintained as select public.maintain_client_data_indexes() as m;
select is((select jsonb_array_length(m -> 'ready') from maintained), 3, 'one maintenance run makes the 3 fields ready (no older transaction to wait for)');
select is((select jsonb_array_length(m -> 'ddl') from maintained), 1, '... and returns one statement: the sort index on price');
select matches((select m -> 'ddl' ->> 0 from maintained),
               '^create index concurrently if not exists client_data_sort_\w+ on public\.client_data \(\(case when jsonb_typeof\(data -> ''price''\)',
               '... over the compiler''s canonical expression for price');
-- CREATE INDEX CONCURRENTLY cannot run in the test's transaction: the same statement, plainly.
reset role;
do $$ begin execute replace((select m -> 'ddl' ->> 0 from maintained), 'concurrently ', ''); end $$;
select is((select jsonb_array_length(public.maintain_client_data_indexes() -> 'ddl')), 0, 'once built, maintenance has nothing to do');
select is((select count(*)::int from public.client_data_field_values where client_id = :'client_a' and field = 'code'),
          20001, 'every row has its code value');
select is((select count(*)::int from public.client_data_field_values where client_id = :'client_a' and field = 'price'),
          20001, '... and its price');
select is((select count(*)::int from public.client_data_field_values where client_id = :'client_a'
             and field = 'price' and row_id in (select id from public.client_data where client_id = :'client_a' and table_name = 'client_11111111_sales')),
          0, 'no values for another table');
analyze public.client_data;
analyze public.client_data_field_values;

-- Client A, RLS on: the same answers (plus the row added), through the index.
select pg_temp.act_as('authenticated', :'sub_a');
select is(pg_temp.total(:'code_eq'), 11::bigint, 'code c42: the 10 rows and the one added');
select is(pg_temp.total(:'price_range'), (select price_range + 1 from before_index), 'the price range: the same rows and the one added');
select is(pg_temp.total('{"field": "code", "op": "in", "value": ["c42", "c43", "nope"]}'), (select code_in + 1 from before_index), 'code in (…): the same');
select is(pg_temp.total('{"field": "day", "op": "gte", "value": "2024-12-30"}'), (select day_gte + 1 from before_index), 'a date range: the same');
select is(pg_temp.total('{"and": [{"field": "price", "op": "is", "value": "null"}, {"field": "code", "op": "like", "value": "c4*"}]}'),
          0::bigint, 'is and like on indexed fields still work (not through the index)');
select is(pg_temp.total('{"or": [{"field": "code", "op": "eq", "value": "c42"}, {"field": "code", "op": "eq", "value": "c43"}]}'),
          (select code_in + 1 from before_index), 'an or of indexed conditions: the same rows (not through the index)');
select matches(pg_temp.plan_of(pg_temp.page_sql(:'client_a', :'big', :'code_eq', null)),
               'Index Only Scan using client_data_field_values_search on client_data_field_values v\s+Index Cond: \(\(client_id = ''11111111-1111-1111-1111-111111111111''::uuid\) AND \(table_name = ''client_11111111_big''::text\) AND \(field = ''code''::text\) AND \(num IS NULL\) AND \(txt = ''c42''::text\)\)',
               'as client A, the selective filter is an index condition on the values');
select matches(pg_temp.plan_of(pg_temp.page_sql(:'client_a', :'big', :'code_eq', null)),
               'Index Scan using client_data_pkey on client_data d\s+Index Cond: \(\(client_id = ''11111111-1111-1111-1111-111111111111''::uuid\) AND \(id = v.row_id\)\)',
               '... and its rows are fetched by id');
select doesnt_match(pg_temp.plan_of(pg_temp.page_sql(:'client_a', :'big', '{"field": "region", "op": "eq", "value": "r1"}', null)),
                    'field_values', 'region (10 % of the rows) has no value index: the walk fills a page sooner');
select matches(pg_temp.plan_of(pg_temp.page_sql(:'client_a', :'big', null, '[{"field": "price", "dir": "desc"}]')),
               'Index Scan Backward using client_data_sort_\w+ on client_data d', 'sorting by price walks its sort index');
select doesnt_match(pg_temp.plan_of(pg_temp.page_sql(:'client_a', :'big', null, '[{"field": "price", "dir": "desc"}]')),
                    'Sort', '... with no Sort');
select is(public.query_client_data(:'client_a', jsonb_build_object('table', :'big', 'order', '[{"field": "price", "dir": "desc"}]'::jsonb, 'limit', 20)) -> 'rows',
          (select by_price from before_index), 'the same 20 rows as before, in the same order');

-- Client B: A's values are invisible, and B's own filter does not see them.
select pg_temp.act_as('authenticated', :'sub_b');
select is((select count(*)::int from public.client_data_field_values), 0, 'client B sees none of A''s values');
select is((select count(*)::int from public.client_data_field_indexes), 0, 'nor A''s indexed fields');

-- Dropping: the values go at once, the sort index at the next maintenance.
select pg_temp.act_as('service_role');
select ok(public.drop_client_data_index(:'client_a', :'big', 'price'), 'service_role drops price');
select is((select count(*)::int from public.client_data_field_values where client_id = :'client_a' and field = 'price'), 0, '... its values are gone');
select matches(public.maintain_client_data_indexes() -> 'ddl' ->> 0, '^drop index concurrently if exists public\.client_data_sort_\w+$',
               '... and maintenance returns the drop of its sort index');

select * from finish();
rollback;
