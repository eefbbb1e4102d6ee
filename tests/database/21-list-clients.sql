-- list_clients, the console's client list: admin only (clients and anon are refused), newest
-- first, paged, searched by name or email, each client with its tables, rows and last upload.
begin;
select plan(19);
\ir _fixtures.psql

-- The fixture's two clients were created in this transaction (same created_at); give them and a
-- third, row-less client distinct times so the order is the creation order.
update public.clients set created_at = '2026-01-01' where client_id = :'client_a';
update public.clients set created_at = '2026-02-01' where client_id = :'client_b';
insert into public.clients (client_id, company_name, email, created_at)
values ('33333333-3333-3333-3333-333333333333', 'Gamma 100% Ltd', 'ops@gamma.example', '2026-03-01');
insert into public.client_data (client_id, table_name, data, created_at)
values (:'client_a', 'client_11111111_crm', '{"name": "x"}', '2026-01-05 12:00+00');

select pg_temp.act_as('service_role');
select is((public.list_clients()) -> 'total', '3'::jsonb, 'service_role lists all 3 clients');
select is(jsonb_path_query_array(public.list_clients(), '$.clients[*].company_name'),
          '["Gamma 100% Ltd", "Beta Ltd", "Acme Corp"]'::jsonb, 'newest first');
select is(((public.list_clients()) -> 'clients' -> 2) - 'created_at',
          '{"client_id": "11111111-1111-1111-1111-111111111111", "company_name": "Acme Corp",
            "email": "owner@acme.example",
            "tables": [{"table_name": "client_11111111_crm", "data_type": "data", "row_count": 1},
                       {"table_name": "client_11111111_sales", "data_type": "ecommerce", "row_count": 3}],
            "row_count": 4, "last_upload_at": "2026-01-05T12:00:00+00:00"}'::jsonb,
          'a client comes with its tables (by name), their rows, the sum and the newest row''s time');
select is((public.list_clients()) -> 'clients' -> 0 -> 'created_at', to_jsonb('2026-03-01'::timestamptz),
          'and its created_at');
select is(((public.list_clients()) -> 'clients' -> 0) - 'created_at',
          '{"client_id": "33333333-3333-3333-3333-333333333333", "company_name": "Gamma 100% Ltd",
            "email": "ops@gamma.example", "tables": [], "row_count": 0, "last_upload_at": null}'::jsonb,
          'a client without tables has [] and 0 rows, and no last upload');
select is(array(select distinct k from jsonb_array_elements(public.list_clients() -> 'clients') c, jsonb_object_keys(c.value) k
                 order by 1),
          array['client_id', 'company_name', 'created_at', 'email', 'last_upload_at', 'row_count', 'tables'],
          'each client has exactly the documented fields (no password hash)');

-- Paging: total stays the number of matches, the page is a window of the same order.
select is(public.list_clients(null, 2, 0) -> 'total', '3'::jsonb, 'a page of 2 still reports the total of 3');
select is(jsonb_path_query_array(public.list_clients(null, 2, 0), '$.clients[*].client_id'),
          '["33333333-3333-3333-3333-333333333333", "22222222-2222-2222-2222-222222222222"]'::jsonb,
          'the first page of 2');
select is(jsonb_path_query_array(public.list_clients(null, 2, 2), '$.clients[*].client_id'),
          '["11111111-1111-1111-1111-111111111111"]'::jsonb, 'the second page has the third');
select is(public.list_clients(null, 2, 10) -> 'clients', '[]'::jsonb, 'a page past the end is empty');

-- Search: case-insensitive substring of name or email, as plain text.
select is(jsonb_path_query_array(public.list_clients('ACME'), '$.clients[*].company_name'),
          '["Acme Corp"]'::jsonb, 'search by name, case-insensitively');
select is(jsonb_path_query_array(public.list_clients('@beta.EXAMPLE'), '$.clients[*].company_name'),
          '["Beta Ltd"]'::jsonb, 'search by email, case-insensitively');
select results_eq($$select (r->'total')::int, jsonb_array_length(r->'clients')
                      from public.list_clients('  example ') r$$,
                  $$values (3, 3)$$, 'a search matching all, blanks around it ignored');
select is(jsonb_path_query_array(public.list_clients('100%'), '$.clients[*].company_name'),
          '["Gamma 100% Ltd"]'::jsonb, '% is a character, not a wildcard');

select throws_ok($$select public.list_clients(null, 0)$$, '22023', 'limit 0 is out of range', 'limit 0 is refused');
select throws_ok($$select public.list_clients(null, 50, -1)$$, '22023', 'offset -1 is negative', 'a negative offset is refused');

-- Nobody else: a client (even asking about itself) and anon.
select pg_temp.act_as('authenticated', :'sub_a');
select throws_ok($$select public.list_clients()$$, '42501', null, 'client A cannot list clients');
select pg_temp.act_as('authenticated', :'sub_b');
select throws_ok($$select public.list_clients('Acme')$$, '42501', null, 'client B cannot search the clients');
select pg_temp.act_as('anon');
select throws_ok($$select public.list_clients()$$, '42501', null, 'anon cannot list clients');

select * from finish();
rollback;
