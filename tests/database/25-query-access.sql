-- Who may call query_client_data, aggregate_client_data and profile_client_table: each as client
-- A (own rows), client B (A's id → PT404, nothing), anon (no EXECUTE) and service_role (any
-- client); and how each function is declared (security invoker, empty search_path).
begin;
select plan(24);
\ir _query_fixtures.psql

\set q_a 'public.query_client_data(''11111111-1111-1111-1111-111111111111'', ''{"table": "client_11111111_cars", "limit": 1000}'')'
\set agg_a 'public.aggregate_client_data(''11111111-1111-1111-1111-111111111111'', ''{"table": "client_11111111_cars"}'')'
\set prof_a 'public.profile_client_table(''11111111-1111-1111-1111-111111111111'', ''client_11111111_cars'')'

-- declarations
select is((select count(*)::int from pg_proc p
            where p.pronamespace = 'public'::regnamespace
              and p.proname in ('query_client_data', 'aggregate_client_data', 'profile_client_table')
              and not p.prosecdef and p.proconfig @> array['search_path=""']),
          3, 'all three are security invoker with search_path = ''''');
select ok(not has_function_privilege('anon', 'public.query_client_data(uuid, jsonb)', 'execute'), 'anon cannot run query_client_data');
select ok(not has_function_privilege('anon', 'public.aggregate_client_data(uuid, jsonb)', 'execute'), 'anon cannot run aggregate_client_data');
select ok(not has_function_privilege('anon', 'public.profile_client_table(uuid, text)', 'execute'), 'anon cannot run profile_client_table');
select ok(not has_function_privilege('anon', 'private.query_filter_sql(jsonb, jsonb, text, integer, boolean, integer)', 'execute'),
          'anon cannot reach the compiler helpers');

-- client A: its own rows
select pg_temp.act_as('authenticated', :'sub_a');
select is(jsonb_array_length(:q_a -> 'rows'), 6, 'client A reads its 6 cars');
select is(:agg_a -> 'groups' -> 0 -> 'metrics' -> 'count', '6'::jsonb, 'client A aggregates its 6 cars');
select is(:prof_a -> 'row_count', '6'::jsonb, 'client A profiles its table');

-- client B: A's client is not found, for every function, even with A's table named
select pg_temp.act_as('authenticated', :'sub_b');
select is(pg_temp.error_of('select ' || :'q_a'), 'PT404:client_not_found', 'client B reading client A: 404');
select is(pg_temp.error_of('select ' || :'agg_a'), 'PT404:client_not_found', 'client B aggregating client A: 404');
select is(pg_temp.error_of('select ' || :'prof_a'), 'PT404:client_not_found', 'client B profiling client A: 404');
select is(pg_temp.error_of($$select public.query_client_data('33333333-3333-3333-3333-333333333333')$$), 'PT404:client_not_found',
          'an unknown client: the same 404');
select is(public.query_client_data(:'client_b') -> 'rows' -> 0 -> 'data' ->> 'note', 'secret of b #1', 'client B reads its own rows');
select is(public.query_client_data(:'client_b', '{"filter": {"field": "note", "op": "like", "value": "secret*"}, "count": "exact"}') -> 'total',
          '2'::jsonb, 'client B filters its own rows (one table, no table named)');
select is(public.aggregate_client_data(:'client_b', '{}') -> 'groups' -> 0 -> 'metrics' -> 'count', '2'::jsonb,
          'client B aggregates its own rows');

-- anon
select pg_temp.act_as('anon');
select is(pg_temp.error_of('select ' || :'q_a'), '42501:', 'anon: query_client_data is not executable');
select is(pg_temp.error_of('select ' || :'agg_a'), '42501:', 'anon: aggregate_client_data is not executable');
select is(pg_temp.error_of('select ' || :'prof_a'), '42501:', 'anon: profile_client_table is not executable');

-- service_role: any client
select pg_temp.act_as('service_role');
select is(jsonb_array_length(:q_a -> 'rows'), 6, 'service_role reads client A');
select is(:agg_a -> 'groups' -> 0 -> 'metrics' -> 'count', '6'::jsonb, 'service_role aggregates client A');
select is(:prof_a -> 'row_count', '6'::jsonb, 'service_role profiles client A');
select is(public.query_client_data(:'client_b', '{"count": "exact"}') -> 'total', '2'::jsonb, 'service_role reads client B');
select is(pg_temp.error_of($$select public.query_client_data('33333333-3333-3333-3333-333333333333')$$), 'PT404:client_not_found',
          'service_role: an unknown client is 404 too');
select is((select count(*)::int from jsonb_array_elements(:q_a -> 'rows') r where r ->> 'table_name' <> 'client_11111111_cars'), 0,
          'service_role sees only the client and table it asked for');

select * from finish();
rollback;
