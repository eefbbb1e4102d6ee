-- client_schemas.row_count / data_stored stay true whatever path writes client_data: bulk
-- inserts, deletes, moves between tables, truncate, a client's own insert, and a bare INSERT
-- into a table that has no client_schemas row yet (the seed's legacy path).
begin;
select plan(14);
\ir _fixtures.psql

create function pg_temp.counts_are_true() returns boolean language sql as $$
  select not exists (
    select from public.client_schemas s
     where s.row_count <> (select count(*) from public.client_data d
                            where d.client_id = s.client_id and d.table_name = s.table_name)
        or s.data_stored <> (s.row_count > 0))
$$;

select ok(pg_temp.counts_are_true(), 'the fixture''s counts are true');
select results_eq($$select row_count, data_stored from public.client_schemas where table_name = 'client_11111111_sales'$$,
                  $$values (3::bigint, true)$$, 'client A''s table counts its 3 rows');

select pg_temp.act_as('service_role');
insert into public.client_data (client_id, table_name, data)
select '11111111-1111-1111-1111-111111111111', 'client_11111111_sales', jsonb_build_object('n', g)
  from generate_series(1, 20000) g;
select results_eq($$select row_count from public.client_schemas where table_name = 'client_11111111_sales'$$,
                  $$values (20003::bigint)$$, 'a 20000-row bulk insert is counted');

delete from public.client_data where table_name = 'client_11111111_sales' and (data->>'n')::int % 2 = 0;
select results_eq($$select row_count from public.client_schemas where table_name = 'client_11111111_sales'$$,
                  $$values (10003::bigint)$$, 'a bulk delete of 10000 rows is counted');

insert into public.client_data (client_id, table_name, data)
select '22222222-2222-2222-2222-222222222222', 'client_22222222_fresh', jsonb_build_object('n', g)
  from generate_series(1, 5) g;
select results_eq($$select row_count, data_stored, data_type::text from public.client_schemas where table_name = 'client_22222222_fresh'$$,
                  $$values (5::bigint, true, 'data'::text)$$,
                  'a bare INSERT into a new table creates its client_schemas row with the count');

update public.client_data set table_name = 'client_22222222_moved'
 where table_name = 'client_22222222_fresh' and (data->>'n')::int <= 2;
select results_eq($$select table_name::text, row_count from public.client_schemas
                     where table_name in ('client_22222222_fresh', 'client_22222222_moved') order by 1$$,
                  $$values ('client_22222222_fresh'::text, 3::bigint), ('client_22222222_moved', 2::bigint)$$,
                  'moving rows between tables moves their counts');

update public.client_data set data = data || '{"touched": true}' where table_name = 'client_22222222_fresh';
select results_eq($$select row_count from public.client_schemas where table_name = 'client_22222222_fresh'$$,
                  $$values (3::bigint)$$, 'an UPDATE of data alone leaves the count alone');

delete from public.client_data where table_name = 'client_22222222_moved';
select results_eq($$select row_count, data_stored from public.client_schemas where table_name = 'client_22222222_moved'$$,
                  $$values (0::bigint, false)$$, 'deleting every row clears data_stored');

select ok(pg_temp.counts_are_true(), 'all counts are true after the service_role bulk work');

-- A client's own insert is counted, although the client itself may not write row_count.
select pg_temp.act_as('authenticated', :'sub_b');
insert into public.client_data (client_id, table_name, data)
values ('22222222-2222-2222-2222-222222222222', 'client_22222222_data', '{"note": "third"}'),
       ('22222222-2222-2222-2222-222222222222', 'client_22222222_data', '{"note": "fourth"}');
select results_eq($$select row_count from public.client_schemas where table_name = 'client_22222222_data'$$,
                  $$values (4::bigint)$$, 'client B''s own insert of 2 rows is counted');
select throws_ok($$update public.client_schemas set row_count = 0$$, '42501', null,
                 '... while client B still cannot write row_count itself');

-- Deleting a client cascades through both tables without tripping the counts trigger.
reset role;
delete from public.clients where client_id = '22222222-2222-2222-2222-222222222222';
select is((select count(*)::int from public.client_schemas where client_id = '22222222-2222-2222-2222-222222222222'),
          0, 'deleting a client removes its schema rows and data cleanly');

-- TRUNCATE skips row triggers, but the statement trigger still zeroes the counts.
truncate public.client_data;
select results_eq($$select row_count, data_stored from public.client_schemas where table_name = 'client_11111111_sales'$$,
                  $$values (0::bigint, false)$$, 'TRUNCATE zeroes the counts');
select ok(pg_temp.counts_are_true(), 'all counts are true at the end');

select * from finish();
rollback;
