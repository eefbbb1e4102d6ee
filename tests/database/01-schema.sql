-- The shape of the database and who may touch what, read from the catalog: RLS on every table,
-- the policies per command, every function security invoker with a fixed search_path, and
-- nothing at all for anon.
begin;
select plan(69);

select tables_are('public', array['clients', 'client_schemas', 'client_data', 'client_schema_versions',
                            'client_data_field_indexes', 'client_data_field_values'],
                  'public has exactly the six tables');
select views_are('public', array['client_data_summary'], 'public has exactly the summary view');

-- RLS on, for every table
select ok((select relrowsecurity from pg_class where oid = 'public.clients'::regclass), 'RLS is enabled on clients');
select ok((select relrowsecurity from pg_class where oid = 'public.client_schemas'::regclass), 'RLS is enabled on client_schemas');
select ok((select relrowsecurity from pg_class where oid = 'public.client_data'::regclass), 'RLS is enabled on client_data');
select ok((select relrowsecurity from pg_class where oid = 'public.client_schema_versions'::regclass), 'RLS is enabled on client_schema_versions');
select ok((select relrowsecurity from pg_class where oid = 'private.admin_accounts'::regclass), 'RLS is enabled on private.admin_accounts');
select ok((select relrowsecurity from pg_class where oid = 'public.client_data_field_indexes'::regclass), 'RLS is enabled on client_data_field_indexes');
select ok((select relrowsecurity from pg_class where oid = 'public.client_data_field_values'::regclass), 'RLS is enabled on client_data_field_values');
select is(array(select c.relname::text from pg_class c
                 where c.relnamespace = 'private'::regnamespace and c.relkind = 'r'
                   and (has_table_privilege('anon', c.oid, 'select,insert,update,delete,truncate,references,trigger')
                        or has_table_privilege('authenticated', c.oid, 'select,insert,update,delete,truncate,references,trigger'))),
          '{}'::text[], 'no client (nor anon) has any privilege on a table in private');

-- Policies: per command, all to authenticated only
select policies_are('public', 'clients', array['clients_select_own'], 'clients: one policy, select own');
select policies_are('public', 'client_schemas',
                    array['client_schemas_select_own', 'client_schemas_insert_own', 'client_schemas_update_own'],
                    'client_schemas: select/insert/update own');
select policies_are('public', 'client_data',
                    array['client_data_select_own', 'client_data_insert_own'],
                    'client_data: select/insert own');
select policies_are('public', 'client_schema_versions', array['client_schema_versions_select_own'],
                    'client_schema_versions: select own (only the trigger writes it)');
select policies_are('public', 'client_data_field_indexes', array['client_data_field_indexes_select_own'],
                    'client_data_field_indexes: select own (service_role requests and builds)');
select policies_are('public', 'client_data_field_values', array['client_data_field_values_select_own'],
                    'client_data_field_values: select own (only the trigger and the backfill write it)');
select is((select count(*)::int from pg_policies
            where schemaname = 'public' and roles <> '{authenticated}'), 0,
          'every policy applies to authenticated only');
select is((select count(*)::int from pg_policies
            where schemaname = 'public' and cmd = 'ALL'), 0,
          'no catch-all policy: one per command');
select is((select count(*)::int from pg_policies
            where schemaname = 'public'
              and coalesce(qual, with_check) not like '%( SELECT auth.uid() AS uid)%'), 0,
          'every policy reads auth.uid() through a sub-select (an initPlan, not a call per row)');

-- Keys and the case-insensitive email
select col_is_pk('public', 'client_data', array['client_id', 'id'], 'client_data primary key is (client_id, id)');
select col_is_pk('public', 'client_schemas', array['client_id', 'table_name'], 'client_schemas is unique per (client_id, table_name)');
select is((select attidentity::text from pg_attribute where attrelid = 'public.client_data'::regclass and attname = 'id'),
          'a', 'client_data.id is generated always as identity');
select index_is_unique('public', 'clients', 'clients_email_lower_key', 'email is unique (on lower(email))');
select col_not_null('public', 'clients', 'auth_user_id', 'auth_user_id is not null');
select fk_ok('public', 'client_data', 'client_id', 'public', 'clients', 'client_id', 'client_data references clients');
select fk_ok('public', 'client_schemas', 'client_id', 'public', 'clients', 'client_id', 'client_schemas references clients');

-- The view runs as the caller
select ok((select 'security_invoker=true' = any(reloptions) from pg_class where oid = 'public.client_data_summary'::regclass),
          'client_data_summary is security_invoker');

-- Functions: security invoker, search_path = '', stable when read-only
select functions_are('public', array['get_client_data_filtered', 'get_client_data_count', 'create_client_with_data',
                                     'append_client_data', 'get_client_schemas', 'get_client_credentials',
                                     'migrate_legacy_data_uploads', 'get_client_schema_versions',
                                     'begin_upload', 'stage_upload_rows', 'commit_upload', 'abort_upload',
                                     'cleanup_abandoned_uploads', 'delete_client', 'list_clients',
                                     'create_admin_account', 'get_login_credentials',
                                     'query_client_data', 'aggregate_client_data', 'profile_client_table',
                                     'request_client_data_index', 'drop_client_data_index',
                                     'maintain_client_data_indexes'] || array(
                       -- pgTAP's own functions live in public too; leave them out of the comparison
                       select p.proname::text from pg_proc p join pg_depend d on d.objid = p.oid and d.deptype = 'e'
                        where p.pronamespace = 'public'::regnamespace),
                     'public has exactly the contract''s functions (besides pgTAP)');
select is(array(select p.proname::text from pg_proc p
                 where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
                   and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
                   and not coalesce('search_path=""' = any(p.proconfig), false)
                 order by 1),
          '{}'::text[], 'every function of ours pins search_path to ''''');
select is(array(select p.proname::text from pg_proc p
                 where p.pronamespace = 'public'::regnamespace and p.prosecdef
                   and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')),
          '{}'::text[], 'no public function is security definer');
select is(array(select p.proname::text from pg_proc p
                 where p.pronamespace = 'public'::regnamespace and p.provolatile = 's'
                   and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
                 order by 1),
          array['aggregate_client_data', 'get_client_credentials', 'get_client_data_count', 'get_client_data_filtered',
                'get_client_schema_versions', 'get_client_schemas', 'get_login_credentials', 'list_clients',
                'profile_client_table', 'query_client_data'],
          'the read-only functions are stable');
select is(array(select p.oid::regprocedure::text from pg_proc p
                 where p.prosecdef and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
                   and p.pronamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
                 order by 1),
          array['private.record_client_schema_version()', 'private.sync_client_data_field_values()',
                'private.sync_client_schema_counts()'],
          'the only security definer functions are the three trigger functions writing derived data clients may not');

-- Who may execute what
select is(array(select p.oid::regprocedure::text from pg_proc p
                 where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
                   and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
                   and has_function_privilege('anon', p.oid, 'execute')),
          '{}'::text[], 'anon may execute none of our functions');
select is(array(select p.oid::regprocedure::text from pg_proc p
                 where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
                   and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
                   and has_function_privilege('authenticated', p.oid, 'execute') order by 1),
          array['abort_upload(uuid)', 'aggregate_client_data(uuid,jsonb)', 'append_client_data(uuid,text,jsonb,jsonb,text)',
                'begin_upload(text,uuid,text,text,text,jsonb)', 'commit_upload(uuid,jsonb,text,text)',
                'get_client_data_count(uuid,text,jsonb)',
                'get_client_data_filtered(uuid,text,integer,jsonb,timestamp with time zone,bigint)',
                'get_client_schema_versions(uuid,text)', 'get_client_schemas(uuid)',
                'private.aggregate_sql(uuid,jsonb)', 'private.cell_bytes(jsonb)',
                'private.check_client_visible(uuid,text)', 'private.check_data_type(text)',
                'private.check_rows(jsonb,bigint)', 'private.check_rows_array(jsonb)',
                'private.check_schema_def(jsonb)', 'private.check_table_name(text)',
                'private.client_data_filter_sql(jsonb)', 'private.default_table_name(uuid,text)',
                'private.field_index_float(numeric)', 'private.field_index_name(uuid,text,text)',
                'private.query_boolean(text)', 'private.query_check_client(uuid)', 'private.query_columns(jsonb)',
                'private.query_estimate_rows(text)', 'private.query_field(jsonb,jsonb,text)',
                'private.query_file_order_page(uuid,text,text,timestamp with time zone,bigint,integer,integer)',
                'private.query_filter_sql(jsonb,jsonb,text,integer,boolean,integer)',
                'private.query_index_sql(uuid,text,jsonb,jsonb)',
                'private.query_order_sql(text,jsonb,jsonb,jsonb)', 'private.query_raise(text,text,jsonb,text)',
                'private.query_resolve_table(uuid,jsonb,boolean)', 'private.query_search_sql(jsonb,jsonb)',
                'private.query_timestamp(text)', 'private.query_typed_sql(text,text)',
                'private.query_value(text,text,jsonb,text)',
                'private.query_where_sql(uuid,text,jsonb,jsonb,jsonb)',
                'private.row_within_limits(jsonb)', 'private.schema_def_problem(jsonb)',
                'profile_client_table(uuid,text)', 'query_client_data(uuid,jsonb)',
                'stage_upload_rows(uuid,jsonb)'],
          'authenticated may execute exactly the client-facing functions and the checks they share');
select is(array(select p.oid::regprocedure::text from pg_proc p
                 where p.pronamespace = 'public'::regnamespace
                   and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
                   and has_function_privilege('service_role', p.oid, 'execute') order by 1),
          array['abort_upload(uuid)', 'aggregate_client_data(uuid,jsonb)', 'append_client_data(uuid,text,jsonb,jsonb,text)',
                'begin_upload(text,uuid,text,text,text,jsonb)', 'cleanup_abandoned_uploads(interval)',
                'commit_upload(uuid,jsonb,text,text)', 'create_admin_account(text,text)',
                'create_client_with_data(text,text,text,text,text,jsonb,jsonb,uuid,uuid)', 'delete_client(uuid)',
                'drop_client_data_index(uuid,text,text)', 'get_client_credentials(text)', 'get_client_data_count(uuid,text,jsonb)',
                'get_client_data_filtered(uuid,text,integer,jsonb,timestamp with time zone,bigint)',
                'get_client_schema_versions(uuid,text)', 'get_client_schemas(uuid)', 'get_login_credentials(text)',
                'list_clients(text,integer,integer)', 'maintain_client_data_indexes()', 'migrate_legacy_data_uploads()',
                'profile_client_table(uuid,text)', 'query_client_data(uuid,jsonb)',
                'request_client_data_index(uuid,text,text,boolean)', 'stage_upload_rows(uuid,jsonb)'],
          'service_role may execute every public function');
select ok(not has_schema_privilege('anon', 'private', 'usage'), 'anon cannot reach the private schema');
select is(array(select p.oid::regprocedure::text from pg_proc p
                 where p.pronamespace = 'private'::regnamespace
                   and has_function_privilege('service_role', p.oid, 'execute') order by 1),
          array['private.aggregate_sql(uuid,jsonb)', 'private.cell_bytes(jsonb)',
                'private.check_client_visible(uuid,text)', 'private.check_data_type(text)',
                'private.check_rows(jsonb,bigint)', 'private.check_rows_array(jsonb)',
                'private.check_schema_def(jsonb)', 'private.check_table_name(text)',
                'private.client_data_filter_sql(jsonb)',
                'private.client_taken_message(text,text,text,uuid,uuid)', 'private.default_table_name(uuid,text)',
                'private.field_index_float(numeric)', 'private.field_index_name(uuid,text,text)',
                'private.lock_account_email(text)', 'private.query_boolean(text)', 'private.query_check_client(uuid)', 'private.query_columns(jsonb)',
                'private.query_estimate_rows(text)', 'private.query_field(jsonb,jsonb,text)',
                'private.query_file_order_page(uuid,text,text,timestamp with time zone,bigint,integer,integer)',
                'private.query_filter_sql(jsonb,jsonb,text,integer,boolean,integer)',
                'private.query_index_sql(uuid,text,jsonb,jsonb)',
                'private.query_order_sql(text,jsonb,jsonb,jsonb)', 'private.query_raise(text,text,jsonb,text)',
                'private.query_resolve_table(uuid,jsonb,boolean)', 'private.query_search_sql(jsonb,jsonb)',
                'private.query_timestamp(text)', 'private.query_typed_sql(text,text)',
                'private.query_value(text,text,jsonb,text)',
                'private.query_where_sql(uuid,text,jsonb,jsonb,jsonb)',
                'private.row_within_limits(jsonb)',
                'private.schema_def_problem(jsonb)'],
          'in private, service_role may execute only the checks the public functions share (no trigger function)');
select ok(not has_function_privilege('authenticated', 'private.sync_client_schema_counts()', 'execute'),
          'clients cannot call the counts trigger function directly');

-- Table privileges
select is(array(select c.relname::text from pg_class c
                 where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v', 'S')
                   and not exists (select from pg_depend d where d.objid = c.oid and d.deptype = 'e')
                   and (has_table_privilege('anon', c.oid, 'select,insert,update,delete,truncate,references,trigger')
                        or (c.relkind = 'S' and has_sequence_privilege('anon', c.oid, 'usage,select,update')))),
          '{}'::text[], 'anon has no privilege on any table, view or sequence');
select ok(not has_column_privilege('authenticated', 'public.clients', 'password_hash', 'select'),
          'authenticated cannot select clients.password_hash');
select ok(has_column_privilege('authenticated', 'public.clients', 'email', 'select'),
          'authenticated can select the other client columns');
select ok(not has_table_privilege('authenticated', 'public.clients', 'insert'), 'authenticated cannot insert clients');
select ok(not has_table_privilege('authenticated', 'public.clients', 'update'), 'authenticated cannot update clients');
select ok(not has_table_privilege('authenticated', 'public.clients', 'delete'), 'authenticated cannot delete clients');
select ok(not has_table_privilege('authenticated', 'public.clients', 'truncate'), 'authenticated cannot truncate clients');
select ok(not has_column_privilege('authenticated', 'public.client_schemas', 'row_count', 'insert'),
          'authenticated cannot insert row_count');
select ok(not has_column_privilege('authenticated', 'public.client_schemas', 'row_count', 'update'),
          'authenticated cannot update row_count');
select ok(not has_column_privilege('authenticated', 'public.client_schemas', 'data_stored', 'insert'),
          'authenticated cannot insert data_stored');
select ok(not has_column_privilege('authenticated', 'public.client_schemas', 'data_stored', 'update'),
          'authenticated cannot update data_stored');
select ok(not has_table_privilege('authenticated', 'public.client_schemas', 'delete'),
          'authenticated cannot delete client_schemas rows');
select ok(not has_table_privilege('authenticated', 'public.client_schemas', 'truncate'),
          'authenticated cannot truncate client_schemas');
select ok(not has_table_privilege('authenticated', 'public.client_data', 'update'),
          'authenticated cannot update client_data');
select ok(not has_table_privilege('authenticated', 'public.client_data', 'delete'),
          'authenticated cannot delete client_data');
select ok(not has_table_privilege('authenticated', 'public.client_data', 'truncate'),
          'authenticated cannot truncate client_data');
select ok(has_table_privilege('authenticated', 'public.client_data', 'select'),
          'authenticated can read client_data (RLS limits it to its own)');
select ok(has_column_privilege('authenticated', 'public.client_data', 'data', 'insert'),
          'authenticated can insert into client_data (RLS limits it to its own)');
select ok(not has_table_privilege('service_role', 'public.client_data', 'truncate'),
          'not even service_role may truncate client_data');
select ok((select rolbypassrls from pg_roles where rolname = 'service_role'), 'service_role bypasses RLS');
select ok(not has_sequence_privilege('authenticated', 'public.client_data_id_seq', 'usage'),
          'authenticated cannot use the identity sequence');
select ok(not has_sequence_privilege('authenticated', 'public.client_data_id_seq', 'select'),
          'authenticated cannot read the identity sequence');
select ok(not has_sequence_privilege('authenticated', 'public.client_data_id_seq', 'update'),
          'authenticated cannot set the identity sequence');

-- Table and data-type names: one domain each, on every column that holds one.
select is(array(select format('%s.%s', a.attrelid::regclass, a.attname) from pg_attribute a
                 join pg_class c on c.oid = a.attrelid
                 where c.relnamespace in ('public'::regnamespace, 'staging'::regnamespace) and c.relkind = 'r'
                   and a.attname in ('table_name', 'data_type') and a.attnum > 0
                   and a.atttypid not in ('private.table_name'::regtype, 'private.data_type'::regtype)),
          '{}'::text[], 'every table_name and data_type column has the domain type');
select throws_ok($$select 'Bad Name'::private.table_name$$, '23514', null, 'the table-name domain refuses a bad name');
select throws_ok($$select repeat('a', 33)::private.data_type$$, '23514', null, 'the data-type domain refuses 33 characters');

-- Default privileges: what postgres creates after the migrations (in a later migration) starts
-- with no privilege for any API role, nor EXECUTE for PUBLIC, so a forgotten grant fails closed.
create table public.probe_later_table (id bigint generated always as identity, x int);
create function public.probe_later_function() returns int language sql as 'select 1';
create function private.probe_later_helper() returns int language sql as 'select 1';
select is(array(select r.rolname::text from pg_roles r
                 where r.rolname in ('anon', 'authenticated', 'service_role')
                   and has_table_privilege(r.rolname, 'public.probe_later_table',
                                           'select,insert,update,delete,truncate,references,trigger')
                 order by 1),
          '{}'::text[], 'a table created later has no privilege for anon, authenticated or service_role');
select is(array(select r.rolname::text from pg_roles r
                 where r.rolname in ('anon', 'authenticated', 'service_role')
                   and has_sequence_privilege(r.rolname, 'public.probe_later_table_id_seq', 'usage,select,update')
                 order by 1),
          '{}'::text[], '... nor its sequence');
select is(array(select r.rolname::text from pg_roles r
                 where r.rolname in ('anon', 'authenticated', 'service_role')
                   and has_function_privilege(r.rolname, 'public.probe_later_function()', 'execute')
                 order by 1),
          '{}'::text[], 'a function created later in public is executable by no API role');
select is((select proacl::text from pg_proc where oid = 'public.probe_later_function()'::regprocedure),
          '{postgres=X/postgres}', '... and not by PUBLIC: only its owner');
select is((select proacl::text from pg_proc where oid = 'private.probe_later_helper()'::regprocedure),
          '{postgres=X/postgres}', 'a function created later in private is executable by its owner only');

select * from finish();
rollback;
