-- After 20261204220000_file_order_page_plan_kept: page 1 and the cursor pages in file order with
-- no filter run private.query_file_order_page (static SQL with a kept generic plan) and answer
-- exactly what the dynamic statement answers for the same page: compared here with the same
-- read through a filter every row passes (which keeps the dynamic statement), for page 1, cursor
-- pages across rows with equal created_at, microseconds and a day past the 28th, offsets, and an
-- explicit created_at order. Filters, search, select, other orders, limit 0 and several tables
-- without a name keep the dynamic statement. Client B gets nothing of client A's, through
-- query_client_data or the helper itself; anon may call neither.
begin;
select plan(21);
\ir _query_fixtures.psql

\set ties 'client_11111111_ties'
-- t1-t9 in file order: t2-t5 share one created_at (ids break the tie), t6-t7 have
-- microseconds on the 30th, t8-t9 are on the 31st.
insert into public.client_schemas (client_id, table_name, schema_def) values
  (:'client_a', :'ties', '{"version": 1, "columns": [{"key": "label", "name": "Label", "type": "string"}]}');
insert into public.client_data (client_id, table_name, data, created_at) values
  (:'client_a', :'ties', '{"label": "t1"}', '2026-01-29 23:59:59+00'),
  (:'client_a', :'ties', '{"label": "t2"}', '2026-01-30 08:00+00'),
  (:'client_a', :'ties', '{"label": "t3"}', '2026-01-30 08:00+00'),
  (:'client_a', :'ties', '{"label": "t4"}', '2026-01-30 08:00+00'),
  (:'client_a', :'ties', '{"label": "t5"}', '2026-01-30 08:00+00'),
  (:'client_a', :'ties', '{"label": "t6"}', '2026-01-30 08:00:00.000001+00'),
  (:'client_a', :'ties', '{"label": "t7"}', '2026-01-30 09:15:42.5+00'),
  (:'client_a', :'ties', '{"label": "t8"}', '2026-01-31 00:00+00'),
  (:'client_a', :'ties', '{"label": "t9"}', '2026-01-31 00:00+00');

-- Calls of private.query_file_order_page in this transaction.
set local track_functions = 'all';
create function pg_temp.kept_calls() returns bigint language sql as $$
  select coalesce((select f.calls from pg_stat_xact_user_functions f
                    where f.schemaname = 'private' and f.funcname = 'query_file_order_page'), 0)
$$;

-- Every page of a read (pages of p_limit, each after the previous one's cursor), as one JSON
-- array of the answers; p_every_row adds a filter every row passes.
create function pg_temp.pages(p_table text, p_limit int, p_every_row boolean, p_extra jsonb default '{}')
  returns jsonb language plpgsql as $$
declare
  v_query jsonb := jsonb_build_object('table', p_table, 'limit', p_limit) || p_extra;
  v_page jsonb;
  v_out jsonb := '[]';
begin
  if p_every_row then
    v_query := v_query || '{"filter": {"field": "label", "op": "like", "value": "*"}}';
  end if;
  loop
    v_page := public.query_client_data('11111111-1111-1111-1111-111111111111', v_query);
    v_out := v_out || jsonb_build_array(v_page);
    exit when jsonb_typeof(v_page -> 'next') is distinct from 'object';
    v_query := v_query || jsonb_build_object('after', v_page -> 'next');
  end loop;
  return v_out;
end
$$;

-- The labels of every page of pg_temp.pages, in order.
create function pg_temp.labels_of(p_pages jsonb) returns text language sql as $$
  select string_agg(r -> 'data' ->> 'label', ',' order by p.n, e.n)
    from jsonb_array_elements(p_pages) with ordinality p(page, n),
         jsonb_array_elements(p.page -> 'rows') with ordinality e(r, n)
$$;

select pg_temp.act_as('authenticated', :'sub_a');

-- the same answers as the dynamic statement
create temp table kept_before as select pg_temp.kept_calls() as n;
select is(pg_temp.labels_of(pg_temp.pages(:'ties', 2, false)), 't1,t2,t3,t4,t5,t6,t7,t8,t9',
          'pages of 2 in file order: every row once, ties in id order');
select is(pg_temp.kept_calls() - (select n from kept_before), 5::bigint,
          '... all five pages through the kept plan');
select is(pg_temp.pages(:'ties', 2, false), pg_temp.pages(:'ties', 2, true),
          '... and every page, rows and cursor, is what the dynamic statement answers');
select is(pg_temp.pages(:'ties', 3, false), pg_temp.pages(:'ties', 3, true),
          'pages of 3 (boundaries inside the tie and on the microseconds): the same');
select is(pg_temp.pages(:'ties', 1, false), pg_temp.pages(:'ties', 1, true),
          'pages of 1: the same');
select is(pg_temp.pages(:'ties', 4, false, '{"count": "exact"}'), pg_temp.pages(:'ties', 4, true, '{"count": "exact"}'),
          'with an exact count: the same pages (the total, 9, from the counter or by counting)');
select is(pg_temp.pages(:'cars', 2, false), pg_temp.pages(:'cars', 2, true),
          'the cars table (created_at on the 1st), pages of 2: the same');
select is(pg_temp.pages(:'ties', 2, false, '{"offset": 3}'), pg_temp.pages(:'ties', 2, true, '{"offset": 3}'),
          'an offset of 3 on every page: the same');
select is(pg_temp.pages(:'ties', 20, false), pg_temp.pages(:'ties', 20, true),
          'one page of all rows, no cursor: the same');
select is(pg_temp.pages(:'ties', 3, false, '{"order": [{"field": "created_at", "dir": "asc"}]}'),
          pg_temp.pages(:'ties', 3, true),
          'order created_at asc, given: the same pages as file order');
select is(pg_temp.pages(:'ties', 2, false, '{"offset": 10000}'),
          jsonb_build_array(jsonb_build_object('table', :'ties', 'rows', '[]'::jsonb, 'next', null, 'total', null, 'total_kind', null)),
          'an offset past the end: an empty page, no cursor');

-- a cursor written otherwise takes the dynamic statement and pages the same
select is(public.query_client_data(:'client_a', jsonb_build_object('table', :'ties', 'limit', 2,
            'after', jsonb_set(pg_temp.pages(:'ties', 5, false) -> 0 -> 'next', '{o,0}', '"2026-01-30 08:00:00"'))),
          public.query_client_data(:'client_a', jsonb_build_object('table', :'ties', 'limit', 2,
            'after', pg_temp.pages(:'ties', 5, false) -> 0 -> 'next')),
          'a cursor whose created_at has a space for the T: the same page, through the dynamic statement');
select is(pg_temp.error_of(format('select public.query_client_data(%L, %L)', :'client_a', jsonb_build_object('table', :'ties',
            'limit', 2, 'after', jsonb_set(pg_temp.pages(:'ties', 5, false) -> 0 -> 'next', '{k}', '"0000000000000000"')))),
          'PT400:invalid_cursor', 'a cursor of another order is still refused');
select is(pg_temp.error_of(format('select public.query_client_data(%L, %L)', :'client_a', jsonb_build_object('table', :'ties',
            'limit', 2, 'after', jsonb_set(pg_temp.pages(:'ties', 5, false) -> 0 -> 'next', '{o,0}', '"2026-02-30T00:00:00"')))),
          'PT400:invalid_cursor', '... and one with a date that does not exist');

-- what keeps the dynamic statement
truncate kept_before;
insert into kept_before select pg_temp.kept_calls();
select pg_temp.pages(:'ties', 2, true);
select public.query_client_data(:'client_a', jsonb_build_object('table', :'ties', 'q', 't1'));
select public.query_client_data(:'client_a', jsonb_build_object('table', :'ties', 'select', '["label"]'::jsonb));
select public.query_client_data(:'client_a', jsonb_build_object('table', :'ties', 'order', '[{"field": "label"}]'::jsonb));
select public.query_client_data(:'client_a', jsonb_build_object('table', :'ties', 'order', '[{"field": "created_at", "dir": "desc"}]'::jsonb));
select public.query_client_data(:'client_a', jsonb_build_object('table', :'ties', 'limit', 0, 'count', 'exact'));
select public.query_client_data(:'client_a', '{"order": []}');
select is(pg_temp.kept_calls() - (select n from kept_before), 0::bigint,
          'a filter, q, select, another order, created_at desc, limit 0 and several tables unnamed: never the kept plan');
select is((select array_agg((r ->> 'id')::bigint order by n)
             from jsonb_array_elements(public.query_client_data(:'client_a', '{"limit": 5}') -> 'rows') with ordinality e(r, n)),
          (select array_agg(id order by created_at, id) from (select id, created_at from public.client_data
            where client_id = :'client_a' order by created_at, id limit 5) f),
          '... the unnamed read across tables still gives the first rows in file order');

-- the function as defined
select is((select proconfig from pg_proc where oid = 'private.query_file_order_page'::regproc),
          array['search_path=""', 'plan_cache_mode=force_generic_plan'],
          'query_file_order_page: search_path '''' and the generic plan forced');
select is((select prosecdef from pg_proc where oid = 'private.query_file_order_page'::regproc), false,
          '... security invoker');

-- the other tenant and anon
select pg_temp.act_as('authenticated', :'sub_b');
select is(pg_temp.error_of(format('select public.query_client_data(%L, %L)', :'client_a', jsonb_build_object('table', :'ties', 'limit', 2))),
          'PT404:client_not_found', 'client B''s page 1 of client A: 404, no rows');
select is((private.query_file_order_page(:'client_a', :'ties', 'k', '-infinity', 0, 50, 0)).rows, '[]'::jsonb,
          'client B calling the helper with client A''s id and table: no rows (RLS)');
select pg_temp.act_as('anon');
select is(pg_temp.error_of(format('select private.query_file_order_page(%L, %L, %L, %L, 0, 50, 0)',
            :'client_a', :'ties', 'k', '-infinity')),
          '42501:', 'anon may not call query_file_order_page');

select * from finish();
rollback;
