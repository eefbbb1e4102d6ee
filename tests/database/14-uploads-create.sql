-- Uploads that create a client (begin_upload kind 'create', service_role only): the client and
-- its rows appear only at commit, all together and in the order staged; an Idempotency-Key
-- replays a committed upload, refuses one in flight and restarts an abandoned one; a taken
-- email at commit stores nothing.
begin;
select plan(39);
\ir _fixtures.psql

\set new_client '33333333-3333-3333-3333-333333333333'

select pg_temp.act_as('service_role');
select is(public.begin_upload('create', :'new_client', null, 'crm', 'key-1',
                              '{"company_name": " Gamma GmbH ", "email": " Hello@Gamma.example ", "password_hash": "hash-g"}')
            - 'upload_id',
          '{"status": "pending", "replayed": false, "result": null, "request_digest": null}'::jsonb,
          'service_role begins an upload for a new client');
select u.upload_id as up1 from staging.uploads u where u.client_id = :'new_client' \gset
select is(public.stage_upload_rows(:'up1', '[{"n": 1, "name": "first"}, {"n": 2, "name": "second"}]'), 2,
          'a first batch of 2 rows is staged');
select is(public.stage_upload_rows(:'up1', '[{"n": 3, "name": "third"}]'), 3,
          'a second batch: 3 rows staged so far');
select is(public.stage_upload_rows(:'up1', '[]'), 3, 'an empty batch changes nothing');

select is_empty($$select * from public.clients where client_id = '33333333-3333-3333-3333-333333333333'$$,
                'before the commit the client does not exist');
select throws_ok($$select public.get_client_data_count('33333333-3333-3333-3333-333333333333')$$,
                 'PT404', 'client not found', 'before the commit the read functions do not know the client');
select is_empty($$select * from public.client_data_summary where client_id = '33333333-3333-3333-3333-333333333333'$$,
                'before the commit the summary view has nothing');
select is(public.get_client_credentials('hello@gamma.example') is null, true,
          'before the commit nobody can log in as the new client');

select public.commit_upload(:'up1', '{"version": 1, "columns": [{"key": "n", "type": "integer"}, {"key": "name", "type": "string"}]}', null, 'digest-of-request-1') as committed \gset
select is(:'committed'::jsonb - 'created_at' - 'client',
          '{"client_id": "33333333-3333-3333-3333-333333333333", "auth_user_id": "33333333-3333-3333-3333-333333333333",
            "table_name": "client_33333333_crm", "data_type": "crm", "schema_def": {"version": 1, "columns": [{"key": "n", "type": "integer"}, {"key": "name", "type": "string"}], "row_count": 3},
            "rows_stored": 3, "row_count": 3, "schema_version": 1}'::jsonb,
          'the commit creates the client with its rows and reports them, with the stored schema');
select is((:'committed'::jsonb -> 'client') - 'created_at',
          '{"client_id": "33333333-3333-3333-3333-333333333333", "auth_user_id": "33333333-3333-3333-3333-333333333333",
            "company_name": "Gamma GmbH", "email": "Hello@Gamma.example", "data_type": "crm"}'::jsonb,
          '... and the new client as stored (trimmed), so the answer needs no second call');
select results_eq(format($$select (%L::jsonb ->> 'created_at')::timestamptz, (%L::jsonb -> 'client' ->> 'created_at')::timestamptz$$,
                         :'committed', :'committed'),
                  $$select now(), created_at from public.clients where client_id = '33333333-3333-3333-3333-333333333333'$$,
                  '... with the time the rows were stored and the client''s created_at');
select results_eq($$select data->>'name' from public.client_data where client_id = '33333333-3333-3333-3333-333333333333' order by id$$,
                  $$values ('first'), ('second'), ('third')$$, 'the rows got ids in the order they were staged');
select results_eq($$select company_name, email, row_count, actual_row_count, data_type::text from public.client_data_summary
                    where client_id = '33333333-3333-3333-3333-333333333333'$$,
                  $$values ('Gamma GmbH'::text, 'Hello@Gamma.example'::text, 3::bigint, 3::bigint, 'crm'::text)$$,
                  'the summary shows the new client, trimmed, with true counts');
select results_eq($$select password_hash from public.get_client_credentials('hello@gamma.example')$$,
                  $$values ('hash-g'::text)$$, 'the new client can log in');
select results_eq($$select version, schema_def - 'row_count' from public.get_client_schema_versions('33333333-3333-3333-3333-333333333333')$$,
                  $$values (1, '{"version": 1, "columns": [{"key": "n", "type": "integer"}, {"key": "name", "type": "string"}]}'::jsonb)$$, 'the schema is stored as version 1');
select is((select count(*)::int from staging.upload_rows where upload_id = :'up1'), 0, 'the staging is emptied');

-- A retry of the same request (new client_id, same email, same key): the stored result, nothing more.
select is(public.begin_upload('create', '44444444-4444-4444-4444-444444444444', null, 'crm', 'key-1',
                              '{"company_name": "Gamma GmbH", "email": "hello@gamma.example"}'),
          jsonb_build_object('upload_id', :'up1', 'status', 'committed', 'replayed', true,
                             'result', :'committed'::jsonb, 'request_digest', 'digest-of-request-1'),
          'the same Idempotency-Key after the commit replays the commit''s answer and the digest of its request');
select is((select count(*)::int from public.clients), 3, '... and creates no client');
select is((select count(*)::int from public.client_data where client_id = '33333333-3333-3333-3333-333333333333'), 3,
          '... and stores no row');
select is((select count(*)::int from staging.uploads), 1, '... and starts no upload');

-- A retry while the first attempt is still in flight (staged just now): refused, the first
-- attempt untouched.
select (public.begin_upload('create', '55555555-5555-5555-5555-555555555555', 'delta', 'data', 'key-2',
                            '{"company_name": "Delta", "email": "ops@delta.example"}'))->>'upload_id' as up2 \gset
select is(public.stage_upload_rows(:'up2', '[{"try": 1}, {"try": 1}]'), 2, 'a first attempt stages 2 rows');
select throws_ok($$select public.begin_upload('create', '66666666-6666-6666-6666-666666666666', 'delta', 'data', 'key-2',
                                              '{"company_name": "Delta", "email": "OPS@delta.example"}')$$,
                 'PT409', 'an upload with Idempotency-Key key-2 is still in progress',
                 'the same key while the first attempt is in flight is refused as in progress');
select is((select count(*)::int from staging.upload_rows where upload_id = :'up2'), 2,
          '... and the first attempt keeps its staged rows');

-- A retry once the first attempt has been idle for a minute (it died half way): its rows are
-- discarded.
reset role;
set local session_replication_role = replica; -- else the updated_at trigger resets the date
update staging.uploads set updated_at = now() - interval '1 minute' where upload_id = :'up2';
set local session_replication_role = origin;
select pg_temp.act_as('service_role');
select (public.begin_upload('create', '66666666-6666-6666-6666-666666666666', 'delta', 'data', 'key-2',
                            '{"company_name": "Delta", "email": "OPS@delta.example"}'))->>'upload_id' as up3 \gset
select isnt(:'up3'::uuid, :'up2'::uuid, 'the same key after a minute without activity restarts the upload under a new id');
select is((select count(*)::int from staging.upload_rows where upload_id = :'up2'), 0, '... discarding the first attempt''s rows');
select throws_ok(format('select public.stage_upload_rows(%L, ''[{"try": 1}]'')', :'up2'), 'PT404',
                 format('upload %s not found', :'up2'), 'a straggling batch of the first attempt is refused');
select is(public.stage_upload_rows(:'up3', '[{"try": 2}]'), 1, 'the new attempt counts from 1');
select is((public.commit_upload(:'up3', '{}'))->>'rows_stored', '1', 'only the new attempt''s row is stored');
select is((select count(*)::int from public.client_data where table_name = 'delta'), 1, '... and nothing of the first attempt');

-- The same key with another email is another upload.
select is((public.begin_upload('create', null, null, 'data', 'key-1',
                               '{"company_name": "Epsilon", "email": "e@epsilon.example"}'))->>'replayed',
          'false', 'the same key for another email is a different upload');

-- The email was taken between begin and commit: 23505, nothing stored, and abort cleans up.
select (public.begin_upload('create', '77777777-7777-7777-7777-777777777777', null, 'data', null,
                            '{"company_name": "Zeta", "email": "dup@zeta.example"}'))->>'upload_id' as up4 \gset
select is(public.stage_upload_rows(:'up4', '[{"z": 1}, {"z": 2}]'), 2, 'an upload for dup@zeta.example stages rows');
select lives_ok($$select public.create_client_with_data('Zeta rival', 'DUP@zeta.example')$$,
                'meanwhile another client takes that email');
select throws_ok(format('select public.commit_upload(%L, ''{}'')', :'up4'), '23505',
                 'a client with email dup@zeta.example already exists', 'the commit is refused as a conflict');
select is_empty($$select * from public.client_data where client_id = '77777777-7777-7777-7777-777777777777'
                  union all select null, c.client_id, null, null, null from public.clients c
                  where c.client_id = '77777777-7777-7777-7777-777777777777'$$,
                'the refused commit stored neither the client nor a row');
select lives_ok(format('select public.abort_upload(%L)', :'up4'), 'the upload is aborted');
select results_eq(format('select status, (select count(*) from staging.upload_rows r where r.upload_id = u.upload_id)
                          from staging.uploads u where upload_id = %L', :'up4'),
                  $$values ('aborted'::text, 0::bigint)$$, 'the aborted upload has no staged rows left');

select throws_ok($$select public.begin_upload('create', null, null, 'data', null,
                                              '{"company_name": "Again", "email": "owner@ACME.example"}')$$,
                 '23505', 'a client with email owner@ACME.example already exists',
                 'an upload for a taken email is refused before any row is sent');

select pg_temp.act_as('authenticated', :'sub_a');
select throws_ok($$select public.begin_upload('create', null, null, 'data', null,
                                              '{"company_name": "Mine", "email": "me@mine.example"}')$$,
                 '42501', 'only an admin can create a client', 'a client cannot create clients');
select is_empty($$select upload_id, kind from staging.uploads$$, 'a client sees none of the uploads that create clients');

select pg_temp.act_as('anon');
select throws_ok($$select public.begin_upload('create', null, null, 'data', null,
                                              '{"company_name": "Anon", "email": "a@anon.example"}')$$,
                 '42501', null, 'anon cannot begin an upload');

select * from finish();
rollback;
