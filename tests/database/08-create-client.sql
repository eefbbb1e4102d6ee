-- create_client_with_data: admin only, all or nothing, computed table names, argument checks
-- with the offending element named, case-insensitive unique email.
begin;
select plan(22);
\ir _fixtures.psql

select pg_temp.act_as('service_role');
select lives_ok($$select set_config('test.created',
                    public.create_client_with_data('Gamma GmbH', 'info@gamma.example', 'hash-g', 'ecommerce', null,
                                                   '{"version": 1, "columns": [{"key": "sku", "type": "string"}]}', '[{"sku": "g-1"}, {"sku": "g-2"}, {"sku": "g-3"}]',
                                                   '33333333-3333-3333-3333-333333333333')::text, true)$$,
                'service_role creates a client with data');
select is(current_setting('test.created')::jsonb - 'created_at',
          '{"client_id": "33333333-3333-3333-3333-333333333333", "auth_user_id": "33333333-3333-3333-3333-333333333333",
            "company_name": "Gamma GmbH", "email": "info@gamma.example", "table_name": "client_33333333_ecommerce",
            "data_type": "ecommerce", "rows_stored": 3}'::jsonb,
          'the result names the client, its computed table and the rows stored');
select ok(current_setting('test.created')::jsonb ? 'created_at', 'the result has created_at');
select results_eq($$select data->>'sku' from public.get_client_data_filtered('33333333-3333-3333-3333-333333333333')$$,
                  $$values ('g-3'), ('g-2'), ('g-1')$$, 'rows are stored in order (the last one is the newest)');
select results_eq($$select table_name::text, data_type::text, schema_def - 'row_count', row_count, data_stored from public.client_schemas
                     where client_id = '33333333-3333-3333-3333-333333333333'$$,
                  $$values ('client_33333333_ecommerce'::text, 'ecommerce'::text, '{"version": 1, "columns": [{"key": "sku", "type": "string"}]}'::jsonb, 3::bigint, true)$$,
                  'the schema row has the schema, the type and the count');
select is((public.create_client_with_data('Delta', 'd@delta.example'))->>'rows_stored', '0',
          'a client without rows is fine');
select matches((public.create_client_with_data('Epsilon', 'e@eps.example', null, 'crm', null, '{}', '[{"a": 1}]'))->>'table_name',
               '^client_[0-9a-f]{8}_crm$', 'a generated client_id gives client_{8 hex}_{data_type}');
select is((public.create_client_with_data('Zeta', 'z@zeta.example', null, 'data', 'custom_table', '{}', '[{"a": 1}]',
                                          null, 'dddddddd-dddd-dddd-dddd-dddddddddddd'))->>'auth_user_id',
          'dddddddd-dddd-dddd-dddd-dddddddddddd', 'an explicit auth_user_id is kept');
select is((select table_name from public.client_schemas s join public.clients c using (client_id) where c.email = 'z@zeta.example'),
          'custom_table', 'an explicit table name is kept');

-- argument errors (22023), with nothing stored
select throws_ok($$select public.create_client_with_data('Bad', 'bad@x.example', null, 'data', null, '{}', '[{"a": 1}, 42, {"b": 2}]')$$,
                 '22023', 'rows[1] is a JSON number; every row must be a JSON object',
                 'a non-object row is refused, naming its index');
select throws_ok($$select public.create_client_with_data('Bad', 'bad@x.example', null, 'data', null, '{}', '{"a": 1}')$$,
                 '22023', 'rows must be a JSON array of objects, got a JSON object', 'rows must be an array');
select throws_ok($$select public.create_client_with_data('Bad', 'bad@x.example', null, 'Drop Table', null)$$,
                 '22023', null, 'an unsafe data_type is refused');
select throws_ok($$select public.create_client_with_data('Bad', 'bad@x.example', null, 'data', 'Client_X')$$,
                 '22023', null, 'an unsafe table name is refused');
select throws_ok($$select public.create_client_with_data('Bad', 'bad@x.example', null, 'data', repeat('a', 64))$$,
                 '22023', null, 'a table name over 63 characters is refused');
select throws_ok($$select public.create_client_with_data('', 'bad@x.example')$$, '22023', null, 'an empty company name is refused');
select throws_ok($$select public.create_client_with_data('Bad', 'not-an-email')$$, '22023', null, 'an email without @ is refused');
select is((select count(*)::int from public.clients where email = 'bad@x.example'), 0, 'no refused call left a client behind');

-- uniqueness (23505) and all-or-nothing
select throws_ok($$select public.create_client_with_data('Acme Again', 'OWNER@acme.example', null, 'data', null, '{}', '[{"a": 1}]')$$,
                 '23505', 'a client with email OWNER@acme.example already exists', 'email is unique case-insensitively');
select throws_ok($$select public.create_client_with_data('Copy', 'copy@x.example', null, 'data', null, '{}', '[]',
                                                        '11111111-1111-1111-1111-111111111111')$$,
                 '23505', 'a client with client_id 11111111-1111-1111-1111-111111111111 already exists', 'client_id is unique');
select is((select count(*)::int from public.client_data where client_id = '11111111-1111-1111-1111-111111111111'), 3,
          'the failed calls stored no rows');

select pg_temp.act_as('authenticated', :'sub_a');
select throws_ok($$select public.create_client_with_data('Sneaky', 's@x.example')$$, '42501', null,
                 'a client cannot create clients');
select pg_temp.act_as('anon');
select throws_ok($$select public.create_client_with_data('Sneaky', 's@x.example')$$, '42501', null,
                 'anon cannot create clients');

select * from finish();
rollback;
