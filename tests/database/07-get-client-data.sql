-- get_client_data_filtered and get_client_data_count as each caller: newest first, the limit's
-- default and clamp, the {field: text} filter, the keyset cursor, and tenant isolation.
begin;
select plan(32);
\ir _fixtures.psql


-- client A
select pg_temp.act_as('authenticated', :'sub_a');
select results_eq($$select data->>'sku' from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111')$$,
                  $$values ('a-3'), ('a-2'), ('a-1')$$, 'client A gets its rows newest first');
select results_eq($$select data->>'sku' from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', 'client_11111111_sales', 2)$$,
                  $$values ('a-3'), ('a-2')$$, 'the seed''s call shape (client, table, limit) works');
select is_empty($$select * from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', 'client_22222222_data')$$,
                'another tenant''s table name yields nothing');
select throws_ok($$select * from public.get_client_data_filtered('22222222-2222-2222-2222-222222222222')$$,
                 'PT404', 'client not found', 'client A reading client B: not found (not an empty page)');
select throws_ok($$select public.get_client_data_count('22222222-2222-2222-2222-222222222222')$$,
                 'PT404', 'client not found', 'client A counting client B: not found (not 0)');
select is(public.get_client_data_count('11111111-1111-1111-1111-111111111111'), 3::bigint, 'client A counts its 3 rows');
select is(public.get_client_data_count('11111111-1111-1111-1111-111111111111', 'client_11111111_sales'), 3::bigint,
          'count by table');

-- filter: data->>field = text, every pair must match; numbers match by their text
select results_eq($$select data->>'sku' from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', null, null, '{"category": "tools"}')$$,
                  $$values ('a-3'), ('a-1')$$, 'filter on a string field');
select results_eq($$select data->>'sku' from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', null, null, '{"qty": "7"}')$$,
                  $$values ('a-2')$$, 'a number field matches its text');
select is_empty($$select * from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', null, null, '{"category": "tools", "qty": "7"}')$$,
                'every pair must match');
select is(public.get_client_data_count('11111111-1111-1111-1111-111111111111', null, '{"category": "tools"}'), 2::bigint,
          'count honours the filter');
select is_empty($$select * from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', null, null, '{"x''; drop table public.clients; --": "1"}')$$,
                'a hostile field name is just a field name');
select throws_ok($$select * from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', null, null, '["tools"]')$$,
                 '22023', null, 'a filter that is not an object is a bad argument');
select throws_ok($$select public.get_client_data_count('11111111-1111-1111-1111-111111111111', null, '"x"')$$,
                 '22023', null, 'count: a filter that is not an object is a bad argument');

-- keyset cursor: strictly after (created_at, id) in newest-first order
select results_eq(format($$select data->>'sku' from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', null, 10, null, %L, %s)$$,
                         (select created_at from public.client_data where data->>'sku' = 'a-3'),
                         (select id from public.client_data where data->>'sku' = 'a-3')),
                  $$values ('a-2'), ('a-1')$$, 'the cursor of the newest row yields the rows after it');
select throws_ok($$select * from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', null, 10, null, now(), null)$$,
                 '22023', null, 'half a cursor is a bad argument');

-- limits: null -> 100, clamped to 1..1000
reset role;
insert into public.client_data (client_id, table_name, data, created_at)
select '11111111-1111-1111-1111-111111111111', 'client_11111111_bulk', jsonb_build_object('n', g),
       timestamptz '2026-02-01' + (g % 10) * interval '1 second'   -- many equal created_at: id breaks ties
  from generate_series(1, 1200) g;
select pg_temp.act_as('authenticated', :'sub_a');
select is((select count(*)::int from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', 'client_11111111_bulk')),
          100, 'the default limit is 100');
select is((select count(*)::int from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', 'client_11111111_bulk', null)),
          100, 'a null limit means 100');
select is((select count(*)::int from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', 'client_11111111_bulk', 5000)),
          1000, 'a limit above 1000 is clamped to 1000');
select is((select count(*)::int from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', 'client_11111111_bulk', 0)),
          1, 'a limit below 1 is clamped to 1');

-- paging through 1200 rows with the cursor visits each row exactly once, in order
create temporary table pages (page int, id bigint, created_at timestamptz);
do $$
declare
  v_page int := 0;
  v_after_at timestamptz;
  v_after_id bigint;
  v_got int;
begin
  loop
    insert into pages
    select v_page, r.id, r.created_at
      from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', 'client_11111111_bulk',
                                           500, null, v_after_at, v_after_id) r;
    get diagnostics v_got = row_count;
    exit when v_got = 0 or v_page > 10;
    select p.created_at, p.id into v_after_at, v_after_id
      from pages p where p.page = v_page order by p.created_at, p.id limit 1;
    v_page := v_page + 1;
  end loop;
end
$$;
select is((select count(*)::int from pages), 1200, 'cursor paging returns all 1200 rows');
select is((select count(distinct id)::int from pages), 1200, '... each exactly once');
select is((select max(page) from pages), 2, '... in pages of 500, 500 and 200');

-- client B
select pg_temp.act_as('authenticated', :'sub_b');
select results_eq($$select data->>'note' from public.get_client_data_filtered('22222222-2222-2222-2222-222222222222')$$,
                  $$values ('secret of b #2'), ('secret of b #1')$$, 'client B gets its own rows');
select throws_ok($$select * from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111')$$,
                 'PT404', 'client not found', 'client B reading client A: not found');

-- anon
select pg_temp.act_as('anon');
select throws_ok($$select * from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111')$$,
                 '42501', null, 'anon cannot call get_client_data_filtered');
select throws_ok($$select public.get_client_data_count('11111111-1111-1111-1111-111111111111')$$,
                 '42501', null, 'anon cannot call get_client_data_count');

-- service_role sees any tenant
select pg_temp.act_as('service_role');
select is(public.get_client_data_count('22222222-2222-2222-2222-222222222222'), 2::bigint,
          'service_role counts any tenant');
select throws_ok($$select * from public.get_client_data_filtered('99999999-9999-9999-9999-999999999999')$$,
                 'PT404', 'client not found', 'a client that does not exist: not found, for service_role too');
select throws_ok($$select public.get_client_data_count('99999999-9999-9999-9999-999999999999')$$,
                 'PT404', 'client not found', '... and counting it too');
insert into public.clients (client_id, company_name, email)
values ('33333333-3333-3333-3333-333333333333', 'Empty Co', 'empty@x.example');
select is_empty($$select * from public.get_client_data_filtered('33333333-3333-3333-3333-333333333333')$$,
                'a client that exists but has no rows yet gets an empty page');
select is(public.get_client_data_count('33333333-3333-3333-3333-333333333333'), 0::bigint,
          '... and a count of 0');

select * from finish();
rollback;
