-- migrate_legacy_data_uploads: nothing to do without data_uploads; with it, completed uploads of
-- existing clients are copied whole into client_{8 hex}_legacy, once, however often it runs.
begin;
select plan(17);
\ir _fixtures.psql

select pg_temp.act_as('service_role');
select is(public.migrate_legacy_data_uploads(), 0, 'without data_uploads it migrates 0 rows');
select is((select count(*)::int from public.client_data), 5, '... and changes nothing');

-- The legacy table as the old system had it (status column included). It predates the
-- migrations, so it has Supabase's default grants, which the migrations revoke for later tables.
reset role;
create table public.data_uploads (
  upload_id  serial primary key,
  client_id  uuid not null,
  file_name  text,
  status     text not null,
  payload    jsonb,
  uploaded_at timestamptz not null default '2025-06-01 12:00+00'
);
grant all on table public.data_uploads to anon, authenticated, service_role;
insert into public.data_uploads (client_id, file_name, status, payload) values
  ('11111111-1111-1111-1111-111111111111', 'orders.csv',  'completed', '{"rows": 10}'),
  ('11111111-1111-1111-1111-111111111111', 'broken.csv',  'failed',    null),
  ('22222222-2222-2222-2222-222222222222', 'notes.xlsx',  'completed', '{"rows": 3}'),
  ('22222222-2222-2222-2222-222222222222', 'later.csv',   'pending',   null),
  ('99999999-9999-9999-9999-999999999999', 'orphan.csv',  'completed', '{"rows": 1}');

select pg_temp.act_as('authenticated', :'sub_a');
select throws_ok('select public.migrate_legacy_data_uploads()', '42501', null, 'a client cannot run the legacy migration');
select pg_temp.act_as('anon');
select throws_ok('select public.migrate_legacy_data_uploads()', '42501', null, 'anon cannot run the legacy migration');

select pg_temp.act_as('service_role');
select is(public.migrate_legacy_data_uploads(), 2,
          'the completed uploads of existing clients are migrated (not failed, pending or orphaned ones)');
select results_eq($$select data from public.client_data where table_name = 'client_11111111_legacy'$$,
                  $$values ('{"upload_id": 1, "client_id": "11111111-1111-1111-1111-111111111111", "file_name": "orders.csv",
                              "status": "completed", "payload": {"rows": 10}, "uploaded_at": "2025-06-01T12:00:00+00:00"}'::jsonb)$$,
                  'the whole legacy row is kept as the JSONB data');
select results_eq($$select table_name::text, data_type::text, row_count, data_stored from public.client_schemas
                     where table_name like '%legacy' order by 1$$,
                  $$values ('client_11111111_legacy'::text, 'legacy'::text, 1::bigint, true),
                           ('client_22222222_legacy', 'legacy', 1::bigint, true)$$,
                  'each client gets a legacy table of type legacy with a true count');
select is(public.migrate_legacy_data_uploads(), 0, 'running it again migrates nothing');
select is((select count(*)::int from public.client_data where table_name like '%legacy'), 2, '... and duplicates nothing');

reset role;
update public.data_uploads set status = 'completed' where file_name = 'later.csv';
select pg_temp.act_as('service_role');
select is(public.migrate_legacy_data_uploads(), 1, 'an upload completed since is picked up on the next run');

select pg_temp.act_as('authenticated', :'sub_a');
select results_eq($$select data->>'file_name' from public.get_client_data_filtered('11111111-1111-1111-1111-111111111111', 'client_11111111_legacy')$$,
                  $$values ('orders.csv')$$, 'client A reads its migrated upload');
select is_empty($$select 1 from public.client_data where data->>'file_name' in ('notes.xlsx', 'later.csv')$$,
                'client A cannot read client B''s migrated uploads');

-- A legacy table without a status column: every row of an existing client counts as done.
reset role;
drop table public.data_uploads;
create table public.data_uploads (client_id text, content jsonb);
grant all on table public.data_uploads to anon, authenticated, service_role;
insert into public.data_uploads values
  ('11111111-1111-1111-1111-111111111111', '{"k": 1}'),
  ('11111111-1111-1111-1111-111111111111', '{"k": 2}'),
  ('not-a-uuid', '{"k": 3}');
select pg_temp.act_as('service_role');
select is(public.migrate_legacy_data_uploads(), 2,
          'without a status column every row of an existing client is migrated (text client_id works too)');
select is(public.migrate_legacy_data_uploads(), 0, '... once');
select is((select row_count from public.client_schemas where table_name = 'client_11111111_legacy'), 3::bigint,
          'the legacy table counts both generations of rows');

reset role;
drop table public.data_uploads;
create table public.data_uploads (owner uuid, content jsonb);
select pg_temp.act_as('service_role');
select throws_ok('select public.migrate_legacy_data_uploads()', '22023',
                 'public.data_uploads has no client_id column, so its rows belong to no client',
                 'a data_uploads without client_id is reported, not guessed at');

reset role;
drop table public.data_uploads;
select pg_temp.act_as('service_role');
select is(public.migrate_legacy_data_uploads(), 0, 'once data_uploads is gone it is 0 again');

select * from finish();
rollback;
