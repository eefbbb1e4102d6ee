-- query_client_data refuses what does not fit, with PT400 and the contract's detail code, and
-- hostile text in field names, values, order, select and q stays text: quotes, `;`, `)`,
-- comments never change the statement (the tables are intact and the answers are the honest
-- "no such field" / "no row matches").
begin;
select plan(40);
\ir _query_fixtures.psql

select pg_temp.act_as('authenticated', :'sub_a');

create function pg_temp.q_error(p_query jsonb) returns text language sql as $$
  select pg_temp.error_of(format('select public.query_client_data(%L, %L)', '11111111-1111-1111-1111-111111111111', p_query))
$$;
create function pg_temp.cars_error(p_query jsonb) returns text language sql as $$
  select pg_temp.q_error('{"table": "client_11111111_cars"}'::jsonb || p_query)
$$;

-- tables
select is(pg_temp.q_error('{"filter": {"field": "country", "op": "eq", "value": "Chile"}}'), 'PT400:table_required',
          'fields with several tables: table_required');
select is(pg_temp.error_detail(format('select public.query_client_data(%L, %L)', :'client_a', '{"q": "x"}')) -> 'tables',
          '["client_11111111_cars", "client_11111111_sales"]'::jsonb, 'table_required lists the tables');
select is(pg_temp.q_error('{"table": "nosuch"}'), 'PT400:unknown_table', 'an unknown table');
select is(pg_temp.q_error('{"table": "client_22222222_data"}'), 'PT400:unknown_table', 'another tenant''s table is unknown');
select is(pg_temp.error_detail(format('select public.query_client_data(%L, %L)', :'client_a', '{"table": "nosuch"}')),
          '{"code": "unknown_table", "table": "nosuch", "tables": ["client_11111111_cars", "client_11111111_sales"]}'::jsonb,
          'unknown_table names the table and lists the client''s');
select is((public.query_client_data(:'client_a', '{"limit": 1000}') -> 'rows') @> '[{"table_name": "client_11111111_sales"}]'
          and (public.query_client_data(:'client_a', '{"limit": 1000}') -> 'rows') @> '[{"table_name": "client_11111111_cars"}]',
          true, 'no field used and no table named: every table of the client');

-- fields
select is(pg_temp.cars_error('{"filter": {"field": "colour", "op": "eq", "value": "red"}}'), 'PT400:unknown_field', 'unknown field in a filter');
select is(pg_temp.error_detail(format('select public.query_client_data(%L, %L)', :'client_a',
                                      '{"table": "client_11111111_cars", "filter": {"field": "colour", "op": "eq", "value": "red"}}')) - 'path',
          '{"code": "unknown_field", "field": "colour", "fields": ["label", "year", "price", "clutch_completion", "country", "sold_on", "seen_at", "notes", "sex"]}'::jsonb,
          'unknown_field names the field and lists the table''s keys');
select is(pg_temp.cars_error('{"order": [{"field": "colour"}]}'), 'PT400:unknown_field', 'unknown field in order');
select is(pg_temp.cars_error('{"select": ["price", "colour"]}'), 'PT400:unknown_field', 'unknown field in select');

-- values
select is(pg_temp.cars_error('{"filter": {"field": "year", "op": "eq", "value": "abc"}}'), 'PT400:invalid_value', 'a number that is not one');
select is(pg_temp.error_detail(format('select public.query_client_data(%L, %L)', :'client_a',
                                      '{"table": "client_11111111_cars", "filter": {"field": "Unit Price", "op": "gt", "value": "1,5"}}')),
          '{"code": "invalid_value", "field": "price", "type": "number", "value": "1,5"}'::jsonb,
          'invalid_value names the field, its type and the value');
select is(pg_temp.cars_error('{"filter": {"field": "year", "op": "in", "value": ["1957", "x"]}}'), 'PT400:invalid_value', 'a bad value inside in');
select is(pg_temp.cars_error('{"filter": {"field": "clutch_completion", "op": "eq", "value": "maybe"}}'), 'PT400:invalid_value', 'a boolean that is not one');
select is(pg_temp.cars_error('{"filter": {"field": "sold_on", "op": "gt", "value": "15/01/2024"}}'), 'PT400:invalid_value', 'a date that is not ISO');
select is(pg_temp.cars_error('{"filter": {"field": "sold_on", "op": "gt", "value": "2024-02-30"}}'), 'PT400:invalid_value', 'a date that does not exist');
select is(pg_temp.cars_error('{"filter": {"field": "id", "op": "eq", "value": "1.5"}}'), 'PT400:invalid_value', 'an id that is not an integer');
select is(pg_temp.cars_error('{"filter": {"field": "price", "op": "is", "value": "maybe"}}'), 'PT400:invalid_value', 'is takes null/true/false/unknown');

-- operators
select is(pg_temp.cars_error('{"filter": {"field": "price", "op": "like", "value": "1*"}}'), 'PT400:invalid_operator', 'like on a number');
select is(pg_temp.cars_error('{"filter": {"field": "sold_on", "op": "ilike", "value": "2024*"}}'), 'PT400:invalid_operator', 'ilike on a date');
select is(pg_temp.cars_error('{"filter": {"field": "clutch_completion", "op": "gt", "value": "true"}}'), 'PT400:invalid_operator', 'gt on a boolean');
select is(pg_temp.cars_error('{"filter": {"field": "country", "op": "is", "value": "true"}}'), 'PT400:invalid_operator', 'is.true on a string');
select is(pg_temp.cars_error('{"filter": {"field": "country", "op": "contains", "value": "x"}}'), 'PT400:invalid_operator', 'an operator that does not exist');
select is(pg_temp.error_detail(format('select public.query_client_data(%L, %L)', :'client_a',
                                      '{"table": "client_11111111_cars", "filter": {"field": "price", "op": "like", "value": "1*"}}')) - 'path',
          '{"code": "invalid_operator", "field": "price", "type": "number", "op": "like"}'::jsonb, 'invalid_operator names field, type and op');

-- the plan's shape
select is(pg_temp.q_error('[]'), 'PT400:invalid_query', 'a plan that is not an object');
select is(pg_temp.error_detail(format('select public.query_client_data(%L, %L)', :'client_a', '{"limt": 5}')),
          '{"code": "invalid_query", "path": "limt"}'::jsonb, 'an unknown key names its path');
select is(pg_temp.cars_error('{"limit": 1001}'), 'PT400:invalid_query', 'limit above 1000');
select is(pg_temp.cars_error('{"limit": -1}'), 'PT400:invalid_query', 'negative limit');
select is(pg_temp.cars_error('{"offset": 10001}'), 'PT400:invalid_query', 'offset above 10000');
select is(pg_temp.cars_error('{"order": [{"field": "price", "dir": "sideways"}]}'), 'PT400:invalid_query', 'a bad direction');
select is(pg_temp.cars_error('{"count": "some"}'), 'PT400:invalid_query', 'a bad count');
select is(pg_temp.cars_error(jsonb_build_object('filter', (select jsonb_build_object('and', jsonb_agg('{"field": "year", "op": "gt", "value": "1"}'::jsonb))
                                                             from generate_series(1, 101)))),
          'PT400:invalid_query', 'more than 100 conditions');
select is(pg_temp.cars_error('{"filter": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"field": "year", "op": "gt", "value": "1"}}}}}}}}}}'),
          'PT400:invalid_query', 'nested deeper than 8');

-- injection attempts: each is just a name or a value
select is(pg_temp.cars_error($j${"filter": {"field": "price') or true --", "op": "eq", "value": "1"}}$j$), 'PT400:unknown_field',
          'a field name with a quote and a comment is an unknown field');
select is(pg_temp.cars_error($j${"order": [{"field": "price; drop table public.clients"}]}$j$), 'PT400:unknown_field',
          'an order field with ; is an unknown field');
select is(pg_temp.cars_error($j${"select": ["price\") from public.clients --"]}$j$), 'PT400:unknown_field',
          'a select field with ) and a comment is an unknown field');
select is(pg_temp.cars($j${"field": "country", "op": "eq", "value": "Chile' or '1'='1"}$j$), '', 'a value with quotes matches nothing');
select is(pg_temp.cars($j${"field": "notes", "op": "in", "value": ["x'); delete from public.client_data; --", "first"]}$j$), 'r1',
          'a value with ); and a comment inside in is one value');
select is(pg_temp.labels(:'client_a', $j${"table": "client_11111111_cars", "q": "')) or true; --"}$j$), '', 'q with quotes and ; matches nothing');
reset role;
select is((select count(*)::int from public.client_data) || '/' || (select count(*)::int from public.clients), '11/2',
          'every row and client is still there');

select * from finish();
rollback;
