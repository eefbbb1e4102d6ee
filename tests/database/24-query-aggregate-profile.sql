-- aggregate_client_data and profile_client_table, checked against numbers computed by hand from
-- the six cars of _query_fixtures.psql (prices: r1 10.5, r2 20, r3 null, r4 5, r5 7.25, r6 100).
begin;
select plan(30);
\ir _query_fixtures.psql

select pg_temp.act_as('authenticated', :'sub_a');

create function pg_temp.agg(p_query jsonb) returns jsonb language sql as $$
  select public.aggregate_client_data('11111111-1111-1111-1111-111111111111', '{"table": "client_11111111_cars"}'::jsonb || p_query)
$$;
create function pg_temp.agg_error(p_query jsonb) returns text language sql as $$
  select pg_temp.error_of(format('select public.aggregate_client_data(%L, %L)', '11111111-1111-1111-1111-111111111111',
                                 '{"table": "client_11111111_cars"}'::jsonb || p_query))
$$;

-- aggregates
select is(pg_temp.agg('{"group_by": [{"field": "country"}], "metrics": [{"fn": "count"}, {"fn": "sum", "field": "price"}, {"fn": "avg", "field": "price"}, {"fn": "count", "field": "price"}]}'),
          '{"table": "client_11111111_cars", "group_count": 3, "groups": [
             {"key": {"country": "Argentina"}, "metrics": {"count": 1, "sum_price": 7.25, "avg_price": 7.25, "count_price": 1}},
             {"key": {"country": "Chile"}, "metrics": {"count": 3, "sum_price": 115.5, "avg_price": 38.5, "count_price": 3}},
             {"key": {"country": "Kuwait"}, "metrics": {"count": 2, "sum_price": 20, "avg_price": 20, "count_price": 1}}]}'::jsonb,
          'group by a string: count, sum, avg, count of a field (nulls not counted)');
select is(pg_temp.agg('{"group_by": [{"field": "Sold On", "bucket": "month"}]}') -> 'groups',
          '[{"key": {"sold_on": "2023-12-01"}, "metrics": {"count": 1}}, {"key": {"sold_on": "2024-01-01"}, "metrics": {"count": 1}},
            {"key": {"sold_on": "2024-02-01"}, "metrics": {"count": 2}}, {"key": {"sold_on": "2024-03-01"}, "metrics": {"count": 1}},
            {"key": {"sold_on": null}, "metrics": {"count": 1}}]'::jsonb,
          'month buckets of a date (by header text), nulls last, count is the default metric');
select is(pg_temp.agg('{"group_by": [{"field": "seen_at", "bucket": "year"}]}') -> 'groups',
          '[{"key": {"seen_at": "2023-01-01"}, "metrics": {"count": 1}}, {"key": {"seen_at": "2024-01-01"}, "metrics": {"count": 4}},
            {"key": {"seen_at": null}, "metrics": {"count": 1}}]'::jsonb, 'year buckets of a datetime');
select is(pg_temp.agg('{"group_by": [{"field": "seen_at", "bucket": "week"}], "filter": {"field": "label", "op": "in", "value": ["r2", "r3"]}}') -> 'groups',
          '[{"key": {"seen_at": "2024-01-29"}, "metrics": {"count": 1}}, {"key": {"seen_at": "2024-02-05"}, "metrics": {"count": 1}}]'::jsonb,
          'week buckets start on Monday (2024-02-01 06:00 UTC is in the week of 01-29)');
select is(pg_temp.agg('{"group_by": [{"field": "seen_at", "bucket": "day"}], "filter": {"field": "label", "op": "eq", "value": "r6"}}') -> 'groups',
          '[{"key": {"seen_at": "2024-03-01"}, "metrics": {"count": 1}}]'::jsonb, 'day buckets, in UTC');
select is(pg_temp.agg('{"group_by": [{"field": "clutch_completion"}], "filter": {"field": "year", "op": "gte", "value": "1990"}}') -> 'groups',
          '[{"key": {"clutch_completion": true}, "metrics": {"count": 2}}, {"key": {"clutch_completion": null}, "metrics": {"count": 1}}]'::jsonb,
          'group by a boolean with a typed filter');
select is(pg_temp.agg('{"group_by": [{"field": "country"}, {"field": "sex"}], "filter": {"field": "country", "op": "eq", "value": "Chile"}}') -> 'groups',
          '[{"key": {"country": "Chile", "sex": "FEMALE"}, "metrics": {"count": 1}}, {"key": {"country": "Chile", "sex": "MALE"}, "metrics": {"count": 1}},
            {"key": {"country": "Chile", "sex": null}, "metrics": {"count": 1}}]'::jsonb, 'two group keys');
select is(pg_temp.agg('{"group_by": [{"field": "country"}], "metrics": [{"fn": "min", "field": "seen_at"}, {"fn": "max", "field": "seen_at"}, {"fn": "min", "field": "sold_on"}, {"fn": "max", "field": "sex"}], "filter": {"field": "country", "op": "eq", "value": "Chile"}}') -> 'groups' -> 0 -> 'metrics',
          '{"min_seen_at": "2024-01-15T10:30:00", "max_seen_at": "2024-03-01T15:00:00", "min_sold_on": "2024-01-15", "max_sex": "MALE"}'::jsonb,
          'min/max of datetime (UTC), date and text');
select is(pg_temp.agg('{"metrics": [{"fn": "count_distinct", "field": "sex"}, {"fn": "count_distinct", "field": "year"}, {"fn": "max", "field": "price"}]}') -> 'groups',
          '[{"key": {}, "metrics": {"count_distinct_sex": 3, "count_distinct_year": 4, "max_price": 100}}]'::jsonb,
          'no group_by: one group; count_distinct is case-sensitive for text and numeric for numbers (1957 = 1957.0)');
select is(pg_temp.agg('{"group_by": [{"field": "country"}], "order": [{"by": "metric:0", "dir": "desc"}], "limit": 1}'),
          '{"table": "client_11111111_cars", "group_count": 3, "groups": [{"key": {"country": "Chile"}, "metrics": {"count": 3}}]}'::jsonb,
          'order by a metric, limit, group_count counts every group');
select is(pg_temp.agg('{"group_by": [{"field": "country"}], "order": [{"by": "group:Country", "dir": "desc"}]}') -> 'groups' -> 0 -> 'key',
          '{"country": "Kuwait"}'::jsonb, 'order by a group key, desc');
select is(pg_temp.agg('{"q": "kuwait", "metrics": [{"fn": "sum", "field": "year"}]}') -> 'groups' -> 0 -> 'metrics',
          '{"sum_year": 3947.0}'::jsonb, 'q narrows the rows (1957.0 + 1990)');
select is(pg_temp.agg('{"filter": {"field": "country", "op": "eq", "value": "Nowhere"}}') -> 'groups',
          '[{"key": {}, "metrics": {"count": 0}}]'::jsonb, 'no matching row: count 0, not a missing group');

select is(pg_temp.agg_error('{"metrics": [{"fn": "sum", "field": "country"}]}'), 'PT400:invalid_operator', 'sum of a string');
select is(pg_temp.agg_error('{"metrics": [{"fn": "max", "field": "clutch_completion"}]}'), 'PT400:invalid_operator', 'max of a boolean');
select is(pg_temp.agg_error('{"group_by": [{"field": "country", "bucket": "month"}]}'), 'PT400:invalid_operator', 'a bucket on a string');
select is(pg_temp.agg_error('{"group_by": [{"field": "sold_on", "bucket": "hour"}]}'), 'PT400:invalid_query', 'an unknown bucket');
select is(pg_temp.agg_error('{"metrics": [{"fn": "median", "field": "price"}]}'), 'PT400:invalid_query', 'an unknown metric');
select is(pg_temp.agg_error('{"group_by": [{"field": "colour"}]}'), 'PT400:unknown_field', 'an unknown group field');
select is(pg_temp.agg_error('{"order": [{"by": "metric:3"}]}'), 'PT400:invalid_query', 'order by a metric that is not there');
select is(pg_temp.agg_error('{"filter": {"field": "year", "op": "gt", "value": "old"}}'), 'PT400:invalid_value', 'the filters'' errors too');
select is(pg_temp.agg_error($j${"group_by": [{"field": "country\") from public.clients --"}]}$j$), 'PT400:unknown_field', 'a hostile group field name');

-- profile
create temporary table prof as
  select c from jsonb_array_elements(public.profile_client_table(:'client_a', 'client_11111111_cars') -> 'columns') c;
select is(public.profile_client_table(:'client_a', 'client_11111111_cars') -> 'row_count', '6'::jsonb, 'profile: row_count');
select is((select c - 'histogram' from prof where c ->> 'key' = 'price'),
          '{"key": "price", "name": "Unit Price", "type": "number", "semantic_type": null, "nulls": 1, "non_null": 5,
            "distinct_estimate": 5, "min": 5, "max": 100}'::jsonb, 'a number column: nulls, distinct, min, max');
select is((select c -> 'histogram' from prof where c ->> 'key' = 'price') -> 0, '{"from": 5, "to": 14.5, "count": 3}'::jsonb,
          'its histogram: 10 equal buckets from min to max; the first holds 5, 7.25 and 10.5');
select is((select jsonb_agg(h -> 'count') from prof, jsonb_array_elements(c -> 'histogram') h where c ->> 'key' = 'price'),
          '[3, 1, 0, 0, 0, 0, 0, 0, 0, 1]'::jsonb, 'every bucket is there, empty ones as 0');
select is((select c -> 'top_values' from prof where c ->> 'key' = 'country'),
          '[{"value": "Chile", "count": 3}, {"value": "Kuwait", "count": 2}, {"value": "Argentina", "count": 1}]'::jsonb,
          'a text column: top values, most frequent first');
select is((select c -> 'top_values' from prof where c ->> 'key' = 'clutch_completion'),
          '[{"value": true, "count": 3}, {"value": false, "count": 2}]'::jsonb, 'a boolean column: top values');
select is((select jsonb_build_object('min', c -> 'min', 'max', c -> 'max', 'nulls', c -> 'nulls', 'buckets', jsonb_array_length(c -> 'histogram'))
             from prof where c ->> 'key' = 'sold_on'),
          '{"min": "2023-12-31", "max": "2024-03-01", "nulls": 1, "buckets": 10}'::jsonb, 'a date column: min, max, histogram');
select is(pg_temp.error_of(format('select public.profile_client_table(%L)', :'client_a')), 'PT400:table_required',
          'profile of a client with several tables needs the table');

select * from finish();
rollback;
