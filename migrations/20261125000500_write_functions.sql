-- Writes in one call: create a client with its first table and rows, append rows to a client's
-- table, delete a client. Each runs in the caller's transaction, so it stores everything or
-- nothing. (Uploads too large for one call go through the staged functions of
-- 20261125000600_uploads.)

-- The unique violation of an INSERT into clients, as the message a person needs: which value is
-- taken. A violation it does not name itself (clients_identity_distinct, raised by the clients
-- trigger) keeps that trigger's message, which says which id collides with which client.
create function private.client_taken_message(p_constraint text, p_message text, p_email text,
                                             p_client_id uuid, p_auth_user_id uuid)
  returns text
  language sql
  immutable
  set search_path = ''
as $$
  select case p_constraint
    when 'clients_email_lower_key' then format('a client with email %s already exists', p_email)
    when 'clients_pkey' then format('a client with client_id %s already exists', p_client_id)
    when 'clients_auth_user_id_key' then format('auth_user_id %s already belongs to a client', p_auth_user_id)
    else p_message
  end
$$;

grant execute on function private.client_taken_message(text, text, text, uuid, uuid) to service_role;

-- Creates a client, its first logical table and all its rows. Admin only.
--
-- p_table_name null -> client_{first 8 hex of client_id}_{data_type}.
-- Errors: 22023 for a bad argument (p_rows not an array of objects: the message names the first
-- offending element's index; a data_type or table_name outside [a-z][a-z0-9_]); 23505 when the
-- email (case-insensitively), client_id or auth_user_id already belongs to a client.
create function public.create_client_with_data(
  p_company_name text,
  p_email text,
  p_password_hash text default null,
  p_data_type text default 'data',
  p_table_name text default null,
  p_schema_def jsonb default '{}',
  p_rows jsonb default '[]',
  p_client_id uuid default null,
  p_auth_user_id uuid default null
)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_client_id uuid := coalesce(p_client_id, gen_random_uuid());
  v_data_type text := coalesce(p_data_type, 'data');
  v_rows jsonb := coalesce(p_rows, '[]'::jsonb);
  v_table_name text;
  v_client public.clients%rowtype;
  v_rows_stored bigint;
  v_constraint text;
  v_message text;
begin
  if p_company_name is null or btrim(p_company_name) = '' then
    raise exception using errcode = '22023', message = 'company_name must not be empty';
  end if;
  if p_email is null or position('@' in btrim(p_email)) < 2 then
    raise exception using errcode = '22023',
      message = format('email %L is not an email address', p_email);
  end if;
  perform private.check_data_type(v_data_type);
  v_table_name := coalesce(p_table_name, private.default_table_name(v_client_id, v_data_type));
  perform private.check_table_name(v_table_name);
  perform private.check_schema_def(p_schema_def);
  perform private.check_rows(v_rows);

  begin
    insert into public.clients (client_id, company_name, email, password_hash, auth_user_id)
    values (v_client_id, btrim(p_company_name), btrim(p_email), p_password_hash, p_auth_user_id)
    returning * into v_client;
  exception when unique_violation then
    get stacked diagnostics v_constraint = constraint_name, v_message = message_text;
    raise exception using errcode = '23505', constraint = v_constraint,
      message = private.client_taken_message(v_constraint, v_message, btrim(p_email),
                                             v_client_id, p_auth_user_id);
  end;

  insert into public.client_schemas (client_id, table_name, schema_def, data_type)
  values (v_client_id, v_table_name, coalesce(p_schema_def, '{}'::jsonb), v_data_type);

  -- Ids follow the order of p_rows.
  insert into public.client_data (client_id, table_name, data)
  select v_client_id, v_table_name, e.value
    from jsonb_array_elements(v_rows) with ordinality e(value, ord)
   order by e.ord;
  get diagnostics v_rows_stored = row_count;

  return jsonb_build_object(
    'client_id', v_client.client_id,
    'auth_user_id', v_client.auth_user_id,
    'company_name', v_client.company_name,
    'email', v_client.email,
    'table_name', v_table_name,
    'data_type', v_data_type,
    'rows_stored', v_rows_stored,
    'created_at', v_client.created_at
  );
end
$$;

grant execute on function public.create_client_with_data(text, text, text, text, text, jsonb, jsonb, uuid, uuid)
  to service_role;

-- Appends rows to one of a client's logical tables (creating the table's client_schemas row when
-- it is new). A client can append only to itself: for any other client_id it gets PT404.
-- p_schema_def / p_data_type, when given, replace the table's stored ones (a re-upload with a
-- newer schema). row_count in the result is the table's count after the append, as the counts
-- trigger left it.
create function public.append_client_data(
  p_client_id uuid,
  p_table_name text,
  p_rows jsonb,
  p_schema_def jsonb default null,
  p_data_type text default null
)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_rows_stored bigint;
  v_row_count bigint;
begin
  perform private.check_table_name(p_table_name);
  perform private.check_data_type(p_data_type);
  perform private.check_schema_def(p_schema_def);
  perform private.check_rows(p_rows);
  perform private.check_client_visible(p_client_id, 'A client can only append to its own data.');

  insert into public.client_schemas as s (client_id, table_name, schema_def, data_type)
  values (p_client_id, p_table_name, coalesce(p_schema_def, '{}'::jsonb), coalesce(p_data_type, 'data'))
  on conflict (client_id, table_name) do update
    set schema_def = coalesce(p_schema_def, s.schema_def),
        data_type = coalesce(p_data_type, s.data_type)
    where p_schema_def is not null or p_data_type is not null;

  insert into public.client_data (client_id, table_name, data)
  select p_client_id, p_table_name, e.value
    from jsonb_array_elements(p_rows) with ordinality e(value, ord)
   order by e.ord;
  get diagnostics v_rows_stored = row_count;

  select s.row_count into v_row_count
    from public.client_schemas s
   where s.client_id = p_client_id and s.table_name = p_table_name;

  return jsonb_build_object(
    'client_id', p_client_id,
    'table_name', p_table_name,
    'rows_stored', v_rows_stored,
    'row_count', v_row_count
  );
end
$$;

grant execute on function public.append_client_data(uuid, text, jsonb, jsonb, text)
  to authenticated, service_role;

-- Deletes a client and everything it owns: its rows (client_data), tables (client_schemas) and
-- their schema versions go by `on delete cascade`; its uploads in staging (which do not
-- reference clients, since a 'create' upload exists before its client) are removed here, staged
-- rows with them. Admin only: the Worker's DELETE /api/superadmin/clients/{client_id}.
-- Errors: PT404 when there is no such client (a repeated DELETE says so instead of succeeding
-- silently, so an operator with a wrong id notices).
create function public.delete_client(p_client_id uuid)
  returns void
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  if p_client_id is null then
    raise exception using errcode = '22023', message = 'client_id must not be null';
  end if;
  delete from public.clients c where c.client_id = p_client_id;
  if not found then
    raise exception using errcode = 'PT404',
      message = format('client %s not found', p_client_id);
  end if;
  delete from staging.uploads u where u.client_id = p_client_id;
end
$$;

grant execute on function public.delete_client(uuid) to service_role;
