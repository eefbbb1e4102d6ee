-- A JWT sub names one client only: no client's auth_user_id may be another client's client_id
-- (which is that client's default auth_user_id), and no client_id another client's
-- auth_user_id, whichever path creates the client. Client B is the one whose two ids differ:
-- client_id 22222222-…, auth_user_id (its Supabase Auth user) bbbbbbbb-….
begin;
select plan(16);
\ir _fixtures.psql

select pg_temp.act_as('service_role');

-- create_client_with_data
select throws_ok($$select public.create_client_with_data('Impostor', 'imp@x.example', p_auth_user_id => '22222222-2222-2222-2222-222222222222')$$,
                 '23505', 'auth_user_id 22222222-2222-2222-2222-222222222222 is the client_id of another client, whose tokens it would accept',
                 'create_client_with_data refuses an auth_user_id that is another client''s client_id');
select throws_ok($$select public.create_client_with_data('Shadow', 'shadow@x.example',
                     p_client_id => 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', p_auth_user_id => 'cccccccc-cccc-cccc-cccc-cccccccccccc')$$,
                 '23505', 'client_id bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb is the auth_user_id of client 22222222-2222-2222-2222-222222222222',
                 'create_client_with_data refuses a client_id that is another client''s auth_user_id');
select is((select count(*)::int from public.clients), 2, '... and neither client was created');

-- plain SQL as service_role, insert and update
select throws_ok($$insert into public.clients (company_name, email, auth_user_id)
                   values ('Impostor', 'imp@x.example', '22222222-2222-2222-2222-222222222222')$$,
                 '23505', null, 'a plain INSERT with another client''s client_id as auth_user_id is refused');
select throws_ok($$update public.clients set auth_user_id = '22222222-2222-2222-2222-222222222222'
                    where client_id = '11111111-1111-1111-1111-111111111111'$$,
                 '23505', null, 'client A cannot be given client B''s client_id as auth_user_id');
select throws_ok($$insert into public.clients (client_id, company_name, email, auth_user_id)
                   values ('bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', 'Shadow', 'shadow@x.example', '33333333-3333-3333-3333-333333333333')$$,
                 '23505', null, 'a plain INSERT with another client''s auth_user_id as client_id is refused');
select lives_ok($$select public.create_client_with_data('Gamma', 'g@gamma.example', p_auth_user_id => 'dddddddd-dddd-dddd-dddd-dddddddddddd')$$,
                'a client with its own Supabase Auth user is still created');

-- begin_upload refuses both before any row is sent
select throws_ok($$select public.begin_upload('create', null, null, 'data', null,
                     '{"company_name": "Impostor", "email": "imp@x.example", "auth_user_id": "22222222-2222-2222-2222-222222222222"}')$$,
                 '23505', 'auth_user_id 22222222-2222-2222-2222-222222222222 is the client_id of another client, whose tokens it would accept',
                 'begin_upload refuses an auth_user_id that is another client''s client_id');
select throws_ok($$select public.begin_upload('create', 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', null, 'data', null,
                     '{"company_name": "Shadow", "email": "shadow@x.example", "auth_user_id": "cccccccc-cccc-cccc-cccc-cccccccccccc"}')$$,
                 '23505', 'client_id bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb is the auth_user_id of another client',
                 'begin_upload refuses a client_id that is another client''s auth_user_id');

-- commit_upload: the collision appears between begin and commit
select (public.begin_upload('create', '44444444-4444-4444-4444-444444444444', null, 'data', null,
          '{"company_name": "Delta", "email": "d@delta.example", "auth_user_id": "55555555-5555-5555-5555-555555555555"}'))->>'upload_id' as up1 \gset
select is(public.stage_upload_rows(:'up1', '[{"n": 1}]'), 1, 'an upload for a client logging in as 55555555-… stages a row');
select lives_ok($$select public.create_client_with_data('Epsilon', 'e@epsilon.example',
                    p_client_id => '55555555-5555-5555-5555-555555555555', p_auth_user_id => 'eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee')$$,
                'meanwhile a client with client_id 55555555-… is created');
select throws_ok(format('select public.commit_upload(%L, ''{}'')', :'up1'), '23505',
                 'auth_user_id 55555555-5555-5555-5555-555555555555 is the client_id of another client, whose tokens it would accept',
                 'commit_upload refuses an auth_user_id that became another client''s client_id');

select (public.begin_upload('create', '66666666-6666-6666-6666-666666666666', null, 'data', null,
          '{"company_name": "Zeta", "email": "z@zeta.example", "auth_user_id": "77777777-7777-7777-7777-777777777777"}'))->>'upload_id' as up2 \gset
select lives_ok($$select public.create_client_with_data('Eta', 'eta@eta.example', p_auth_user_id => '66666666-6666-6666-6666-666666666666')$$,
                'meanwhile a client logging in as 66666666-… is created');
select throws_ok(format('select public.commit_upload(%L, ''{}'')', :'up2'), '23505',
                 format('client_id 66666666-6666-6666-6666-666666666666 is the auth_user_id of client %s',
                        (select client_id from public.clients where email = 'eta@eta.example')),
                 'commit_upload refuses a client_id that became another client''s auth_user_id');
select is_empty($$select client_id from public.clients
                   where client_id in ('44444444-4444-4444-4444-444444444444', '66666666-6666-6666-6666-666666666666')$$,
                'neither refused commit created its client');

-- What the rule protects: a token with sub = client B's client_id reads nobody.
select pg_temp.act_as('authenticated', :'client_b');
select is_empty('select client_id from public.clients', 'a token whose sub is client B''s client_id sees no client');

select * from finish();
rollback;
