-- Uploads keep no secret and mix no requests: a committed 'create' upload keeps no password
-- hash in staging (only the email, to match a replay), and an Idempotency-Key committed for one
-- table cannot be reused for another (PT409, the Worker's idempotency_conflict) instead of
-- replaying the old result while the new rows are dropped.
begin;
select plan(13);
\ir _fixtures.psql

select pg_temp.act_as('service_role');
select (public.begin_upload('create', '33333333-3333-3333-3333-333333333333', null, 'crm', 'key-1',
          '{"company_name": "Gamma", "email": "Hello@Gamma.example", "password_hash": "hash-g"}'))->>'upload_id' as up1 \gset
select is(public.stage_upload_rows(:'up1', '[{"n": 1}]'), 1, 'a create upload stages a row');
select is((public.commit_upload(:'up1', '{}'))->>'rows_stored', '1', '... and commits');
select is_empty($$select upload_id from staging.uploads where client ? 'password_hash' or client::text like '%hash-g%'$$,
                'after the commit no password hash remains in staging.uploads');
select results_eq($$select password_hash from public.get_client_credentials('hello@gamma.example')$$,
                  $$values ('hash-g'::text)$$, 'the hash is in clients, so the client can log in');
select throws_ok(format($$update staging.uploads set client = client || '{"password_hash": "x"}' where upload_id = %L$$, :'up1'),
                 '23514', null, 'a committed upload cannot be given a password hash again');

-- Replays still match by email and key; another table under the same key is a conflict.
select is((public.begin_upload('create', null, null, 'crm', 'key-1',
                               '{"company_name": "Gamma", "email": "hello@gamma.example", "password_hash": "hash-g"}'))->>'replayed',
          'true', 'a retried create (new client_id, same email, key and data_type) replays');
select throws_ok($$select public.begin_upload('create', null, 'other_table', 'crm', 'key-1',
                     '{"company_name": "Gamma", "email": "hello@gamma.example"}')$$,
                 'PT409', 'Idempotency-Key key-1 was used for an upload to table client_33333333_crm; this request is for table other_table',
                 'the same key for another table of the new client is a conflict');

select (public.begin_upload('append', :'client_a', 'client_11111111_sales', 'data', 'key-2'))->>'upload_id' as up2 \gset
select is(public.stage_upload_rows(:'up2', '[{"sku": "a-4"}]'), 1, 'an append upload stages a row');
select is((public.commit_upload(:'up2', null, null, 'sha256:0a1b'))->>'row_count', '4',
          '... and commits it into client A''s sales, with the digest of its request');
select results_eq($$select r->>'replayed', r->>'request_digest'
                      from public.begin_upload('append', '11111111-1111-1111-1111-111111111111', 'client_11111111_sales',
                                               'data', 'key-2') r$$,
                  $$values ('true', 'sha256:0a1b')$$,
                  'the same key for the same table replays, with the digest to compare the retry''s body against');
select throws_ok(format($$select public.commit_upload(%L, null, null, '')$$, :'up1'), '22023',
                 'the request digest must have 1 to 255 characters', 'an empty digest is refused');
select throws_ok(format($$select public.begin_upload('append', %L, 'client_11111111_crm', 'data', 'key-2')$$, :'client_a'),
                 'PT409', 'Idempotency-Key key-2 was used for an upload to table client_11111111_sales; this request is for table client_11111111_crm',
                 'the same key for another table is a conflict, not a replay');

select pg_temp.act_as('authenticated', :'sub_a');
select throws_ok(format($$select public.begin_upload('append', %L, null, 'data', 'key-2')$$, :'client_a'),
                 'PT409', 'Idempotency-Key key-2 was used for an upload to table client_11111111_sales; this request is for table client_11111111_data',
                 'client A itself gets the conflict too (its default table is another table)');

select * from finish();
rollback;
