-- The plan of a group-by (20261203080000_aggregate_reads_fields_once), with EXPLAIN as client A
-- (authenticated, RLS on) over a 20,000-row table: each grouped or aggregated field is read
-- out of `data` once per row (one `d.data -> 'price'` in the whole plan, however many metrics
-- use it), the grouping is a HashAggregate (no Sort of the rows), and the function runs with the
-- settings that keep it so. The answers are checked against sums computed here by hand.
begin;
select plan(11);
\ir _fixtures.psql

\set big 'client_11111111_big'
insert into public.client_schemas (client_id, table_name, schema_def, data_type) values
  (:'client_a', :'big', $json${"version": 1, "columns": [
     {"key": "n", "name": "N", "type": "integer"}, {"key": "price", "name": "Price", "type": "number"},
     {"key": "region", "name": "Region", "type": "string"}, {"key": "day", "name": "Day", "type": "date"}]}$json$, 'big');
-- region r0..r9 (2,000 rows each); price = n / 100; every 1000th row's price is text (not a
-- number: NULL for the metrics, as in filters).
insert into public.client_data (client_id, table_name, data, created_at)
select :'client_a', :'big',
       jsonb_build_object('n', g, 'price', case when g % 1000 = 0 then to_jsonb('n/a'::text) else to_jsonb(g / 100.0) end,
                          'region', 'r' || (g % 10), 'day', (date '2024-01-01' + g % 366)::text),
       timestamptz '2026-01-01 00:00+00' + g * interval '1 second'
  from generate_series(1, 20000) g;
analyze public.client_data;

\set by_region '{"table": "client_11111111_big", "group_by": [{"field": "region"}], "metrics": [{"fn": "count"}, {"fn": "sum", "field": "price"}, {"fn": "avg", "field": "price"}, {"fn": "max", "field": "price"}]}'

select pg_temp.act_as('authenticated', :'sub_a');
create temp table compiled as select private.aggregate_sql(:'client_a', :'by_region') as sql;
create temp table planned as
select pg_temp.plan_of(sql, 'verbose, costs off') as plan,
       (select count(*) from regexp_matches(pg_temp.plan_of(sql, 'verbose, costs off'), $re$d\.data -> 'price'$re$, 'g')) as price_reads,
       (select count(*) from regexp_matches(pg_temp.plan_of(sql, 'verbose, costs off'), $re$d\.data -> 'region'$re$, 'g')) as region_reads
  from compiled;

select is(price_reads, 1::bigint, 'price is read out of data once per row for sum, avg and max') from planned;
select is(region_reads, 1::bigint, 'the grouped field is read once too') from planned;
select matches(plan, 'HashAggregate', 'the rows are grouped by a HashAggregate') from planned;
select doesnt_match(plan, 'GroupAggregate', 'no GroupAggregate: the rows are never sorted to be grouped (only the groups are)') from planned;
select matches(plan, 'Seq Scan on public\.client_data d|Index Scan using \w+ on public\.client_data d|Bitmap Heap Scan on public\.client_data d',
               'one scan of client_data') from planned;

select is((select g from jsonb_array_elements(public.aggregate_client_data(:'client_a', :'by_region') -> 'groups') g
            where g -> 'key' ->> 'region' = 'r0'),
          (select jsonb_build_object('key', jsonb_build_object('region', 'r0'),
                                     'metrics', jsonb_build_object('count', t.c, 'sum_price', t.s, 'avg_price', t.a, 'max_price', t.m))
             from (select count(*) as c, sum(g / 100.0) filter (where g % 1000 <> 0) as s,
                          trim_scale(round(avg(g / 100.0) filter (where g % 1000 <> 0), 6)) as a,
                          max(g / 100.0) filter (where g % 1000 <> 0) as m
                     from generate_series(10, 20000, 10) g) t),
          'the answer for r0 equals the sums computed by hand (the text prices are left out)');
select is((public.aggregate_client_data(:'client_a', :'by_region') ->> 'group_count')::int, 10, 'ten groups');
select is(public.aggregate_client_data(:'client_a', '{"table": "client_11111111_big", "group_by": [{"field": "day", "bucket": "year"}], "metrics": [{"fn": "count_distinct", "field": "Region"}, {"fn": "min", "field": "day"}]}') -> 'groups',
          '[{"key": {"day": "2024-01-01"}, "metrics": {"min_day": "2024-01-01", "count_distinct_region": 10}}]'::jsonb,
          'a date bucket and metrics over other fields, from the extracted values');
select is(public.aggregate_client_data(:'client_a', '{"table": "client_11111111_big", "filter": {"field": "region", "op": "eq", "value": "r3"}, "metrics": [{"fn": "count"}, {"fn": "max", "field": "created_at"}]}') -> 'groups',
          '[{"key": {}, "metrics": {"count": 2000, "max_created_at": "2026-01-01T05:33:13"}}]'::jsonb,
          'a filter still applies in the subquery; created_at comes through it');

select pg_temp.act_as('authenticated', :'sub_b');
select throws_ok(format('select public.aggregate_client_data(%L, %L)', :'client_a', :'by_region'), 'PT404', null,
                 'another tenant: still 404');

reset role;
select is((select proconfig from pg_proc where oid = 'public.aggregate_client_data(uuid, jsonb)'::regprocedure),
          array['search_path=""', 'work_mem=64MB', 'jit_above_cost=50000', 'jit_inline_above_cost=-1', 'jit_optimize_above_cost=-1'],
          'aggregate_client_data runs with a large work_mem and expression-only JIT above 50,000');

select * from finish();
rollback;
