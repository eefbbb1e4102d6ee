-- The (created_at, id) cursor of 20261203140000_cursor_parsed_once: one row comparison for
-- every spelling of its timestamp (the page's own, fractional, zoned, a leap day), the same
-- refusals as before for the ones that are no date or no number, the same page after either
-- spelling, and, with EXPLAIN as client A (RLS on), a deep page that starts its index scan at
-- the cursor and sorts nothing.
begin;
select plan(12);
\ir _query_fixtures.psql

\set pages 'client_11111111_pages'
insert into public.client_schemas (client_id, table_name, schema_def) values
  (:'client_a', :'pages', '{"version": 1, "columns": [{"key": "n", "name": "N", "type": "integer"}]}');
insert into public.client_data (client_id, table_name, data, created_at)
select :'client_a', :'pages', jsonb_build_object('n', g), timestamptz '2026-05-01 00:00+00' + (g / 2) * interval '1 second'
  from generate_series(1, 5000) g;
analyze public.client_data;

-- The cursor condition query_order_sql compiles for the default order (created_at, id ascending).
create function pg_temp.after_sql(p_after jsonb) returns text language sql as $$
  select (private.query_order_sql('client_11111111_pages', '[]', '[]', p_after)).after_sql
$$;
-- A cursor of the default order at (created_at, id), created_at written as p_at.
create function pg_temp.cursor_at(p_at text, p_id bigint) returns jsonb language sql as $$
  select jsonb_build_object('o', jsonb_build_array(p_at), 'id', p_id,
                            'k', (private.query_order_sql('client_11111111_pages', '[]', '[]', null)).fingerprint)
$$;

-- the (created_at, id) cursor: one row comparison, the timestamp parsed once
select pg_temp.act_as('authenticated', :'sub_a');
select is(pg_temp.after_sql(pg_temp.cursor_at('2026-05-01T00:20:00', 2400)),
          $$((d.created_at, d.id) > (('2026-05-01 00:20:00'::timestamp at time zone 'UTC'), '2400'::bigint))$$,
          'the cursor as the page writes it: a row comparison');
select is(pg_temp.after_sql(pg_temp.cursor_at('2026-05-01T00:20:00.25', 2400)),
          $$((d.created_at, d.id) > (('2026-05-01 00:20:00.25'::timestamp at time zone 'UTC'), '2400'::bigint))$$,
          'with fractional seconds');
select is(pg_temp.after_sql(pg_temp.cursor_at('2026-05-01T02:20:00+02:00', 2400)),
          pg_temp.after_sql(pg_temp.cursor_at('2026-05-01T00:20:00', 2400)),
          'another spelling of the same instant (through query_timestamp): the same condition');
select is(pg_temp.after_sql(pg_temp.cursor_at('2024-02-29T00:00:00', 1)),
          $$((d.created_at, d.id) > (('2024-02-29 00:00:00'::timestamp at time zone 'UTC'), '1'::bigint))$$,
          'a leap day after the 28th (through query_timestamp)');
select is(pg_temp.error_of(format('select pg_temp.after_sql(%L)', pg_temp.cursor_at('2025-02-29T00:00:00', 1))),
          'PT400:invalid_cursor', 'a day that does not exist is invalid_cursor, not a cast error');
select is(pg_temp.error_of(format('select pg_temp.after_sql(%L)', pg_temp.cursor_at('2026-05-01T00:20:00'' or true --', 1))),
          'PT400:invalid_cursor', 'text after the timestamp is refused');
select is(pg_temp.error_of(format('select pg_temp.after_sql(%L)', jsonb_set(pg_temp.cursor_at('2026-05-01T00:20:00', 1), '{o,0}', '1767225600'))),
          'PT400:invalid_cursor', 'a number for created_at is refused');
select is(pg_temp.error_of(format('select pg_temp.after_sql(%L)', jsonb_set(pg_temp.cursor_at('2026-05-01T00:20:00', 1), '{id}', '"1"'))),
          'PT400:invalid_cursor', 'an id that is not a number is refused');

-- paging: the page after a cursor is the rows after it, whichever spelling
select is((select array_agg((r ->> 'id')::bigint order by n)
             from jsonb_array_elements(public.query_client_data(:'client_a',
                    jsonb_build_object('table', :'pages', 'limit', 5, 'after', pg_temp.cursor_at('2026-05-01T02:20:00+02:00', 0))) -> 'rows')
                  with ordinality e(r, n)),
          (select array_agg(id order by created_at, id) from (select id, created_at from public.client_data
             where table_name = :'pages' and created_at >= '2026-05-01 00:20:00+00' order by created_at, id limit 5) s),
          'a page after a zoned cursor: the next 5 rows in (created_at, id) order');

-- EXPLAIN as client A of the deep page query_client_data runs (same compiler calls)
create function pg_temp.deep_sql() returns text language sql as $$
  select format('select d.id from public.client_data d where %s and %s order by %s limit 51',
                private.query_where_sql('11111111-1111-1111-1111-111111111111', 'client_11111111_pages', null, null, null),
                pg_temp.after_sql(pg_temp.cursor_at('2026-05-01T00:37:30', 4500)),
                (private.query_order_sql('client_11111111_pages', '[]', '[]', null)).order_sql)
$$;
create temp table deep as select pg_temp.plan_of(pg_temp.deep_sql()) as plan;
select matches(plan, 'Index Cond: \(\(client_id = ''11111111-[^)]*\) AND \(ROW\(created_at, id\) > ROW\(',
               'the deep page starts its index scan at the cursor (a row comparison in the Index Cond)') from deep;
select doesnt_match(plan, 'Sort', '... and sorts nothing') from deep;
select is((select count(*)::int from jsonb_array_elements(public.query_client_data(:'client_a',
             jsonb_build_object('table', :'pages', 'limit', 50, 'after', pg_temp.cursor_at('2026-05-01T00:37:30', 4500))) -> 'rows')),
          50, 'and that page holds 50 rows');

select * from finish();
rollback;
