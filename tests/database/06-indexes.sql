-- EXPLAIN evidence for the index choices in 20261125000200_client_data.sql, on 40,000
-- rows over 50 tenants (2 tables each), analyzed. Each query shape the RPC functions build is
-- served by an index in the order it needs, with no Sort, so LIMIT stops early; the seed's
-- table_name-only index is not needed by any of them.
begin;
select plan(13);
\ir _fixtures.psql

insert into public.clients (client_id, company_name, email)
select ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, 'Tenant ' || g, 't' || g || '@x.example'
  from generate_series(1, 50) g;
insert into public.client_data (client_id, table_name, data, created_at)
select ('00000000-0000-0000-0000-' || lpad(t::text, 12, '0'))::uuid,
       'client_00000000_' || (array['sales', 'crm'])[1 + r % 2],
       jsonb_build_object('n', r, 'category', case when r % 100 = 0 then 'rare' else 'common' end),
       timestamptz '2026-01-01' + r * interval '1 minute'
  from generate_series(1, 50) t, generate_series(1, 800) r;
analyze public.client_data;
-- Rows inserted just now sit in the GIN index's pending list (fastupdate) until autovacuum merges
-- them; merge them now, as autovacuum would, so the planner costs the index as it will be.
select gin_clean_pending_list('public.idx_client_data_jsonb') >= 0 as pending_list_merged \gset

\set tenant '''00000000-0000-0000-0000-000000000007'''

-- 1. All of a tenant's rows, newest first (get_client_data_filtered without p_table_name)
select matches(pg_temp.plan_of(format($$select * from public.client_data d where d.client_id = %L
                                        order by d.created_at desc, d.id desc limit 100$$, :tenant)),
               'Index Scan using idx_client_data_client_id',
               'listing a tenant newest first walks idx_client_data_client_id');
select doesnt_match(pg_temp.plan_of(format($$select * from public.client_data d where d.client_id = %L
                                             order by d.created_at desc, d.id desc limit 100$$, :tenant)),
                    'Sort', '... in index order, no Sort');

-- 2. One table of a tenant (with p_table_name)
select matches(pg_temp.plan_of(format($$select * from public.client_data d where d.client_id = %L
                                        and d.table_name = 'client_00000000_sales'
                                        order by d.created_at desc, d.id desc limit 100$$, :tenant)),
               'Index Scan using idx_client_data_client_table',
               'listing one table walks idx_client_data_client_table (the table_name-only index is not needed)');
select doesnt_match(pg_temp.plan_of(format($$select * from public.client_data d where d.client_id = %L
                                             and d.table_name = 'client_00000000_sales'
                                             order by d.created_at desc, d.id desc limit 100$$, :tenant)),
                    'Sort', '... in index order, no Sort');

-- 3. The keyset cursor is an index condition, not a filter: a late page costs as much as the first.
select matches(pg_temp.plan_of(format($$select * from public.client_data d where d.client_id = %L
                                        and d.table_name = 'client_00000000_sales'
                                        and (d.created_at, d.id) < ('2026-01-01 05:00+00', 12345)
                                        order by d.created_at desc, d.id desc limit 100$$, :tenant)),
               -- (table_name is a domain over text, so the plan shows it cast: `(table_name)::text = …`)
               'Index Cond: \(\(client_id = .*\) AND \(\(table_name\)::text = .*\) AND \(ROW\(created_at, id\) < ROW',
               'the cursor (created_at, id) < (…) is part of the Index Cond on idx_client_data_client_table');
select matches(pg_temp.plan_of(format($$select * from public.client_data d where d.client_id = %L
                                        and (d.created_at, d.id) < ('2026-01-01 05:00+00', 12345)
                                        order by d.created_at desc, d.id desc limit 100$$, :tenant)),
               'Index Scan using idx_client_data_client_id.*\n.*Index Cond: .*ROW\(created_at, id\) < ROW',
               'without a table, the cursor is part of the Index Cond on idx_client_data_client_id');

-- 4. Counting one table (get_client_data_count) reads only that table's index range.
select matches(pg_temp.plan_of(format($$select count(*) from public.client_data d where d.client_id = %L
                                        and d.table_name = 'client_00000000_sales'$$, :tenant)),
               'idx_client_data_client_table', 'counting a table uses idx_client_data_client_table');

-- 5. JSON equality filters (data->>f = v) cannot use GIN (it serves only @> containment), and
--    the planner has no statistics for them, so it reads the tenant's (or the table's) index
--    range, applies the filter to those rows and sorts them: never a scan across tenants.
select matches(pg_temp.plan_of(format($$select * from public.client_data d where d.client_id = %L
                                        and d.data->>'category' = 'common'
                                        order by d.created_at desc, d.id desc limit 100$$, :tenant)),
               '(Index|Recheck) Cond: \(client_id = ',
               'a ->> filter reads only the tenant''s index range');
select doesnt_match(pg_temp.plan_of(format($$select * from public.client_data d where d.client_id = %L
                                             and d.data->>'category' = 'common'
                                             order by d.created_at desc, d.id desc limit 100$$, :tenant)),
                    'Seq Scan', '... never a scan across tenants');

-- 6. Containment (@>) is what the jsonb_path_ops GIN index serves.
select matches(pg_temp.plan_of($$select count(*) from public.client_data d where d.data @> '{"category": "rare"}'$$),
               'Bitmap Index Scan on idx_client_data_jsonb',
               'a containment query across tenants uses idx_client_data_jsonb');
select is((select opcname::text from pg_index i join pg_opclass o on o.oid = i.indclass[0]
            where i.indexrelid = 'public.idx_client_data_jsonb'::regclass),
          'jsonb_path_ops', 'idx_client_data_jsonb is jsonb_path_ops');

-- 7. Through RLS, as a client: the tenant check is an initPlan evaluated once, and the scan is
--    still the index range of that one tenant.
select pg_temp.act_as('authenticated', '00000000-0000-0000-0000-000000000007');
select matches(pg_temp.plan_of($$select * from public.client_data d order by d.created_at desc, d.id desc limit 100$$),
               'Index Scan using idx_client_data_client_id',
               'a client''s own listing through RLS walks idx_client_data_client_id');
select matches(pg_temp.plan_of($$select * from public.client_data d order by d.created_at desc, d.id desc limit 100$$),
               'InitPlan', 'the RLS tenant check is an InitPlan (once per statement, not per row)');

select * from finish();
rollback;
