-- Creates a client, its first logical table and all its rows in the caller's transaction: either
-- everything is stored or nothing is (any error rolls the whole call back). Admin only.
--
-- p_table_name null -> client_{first 8 hex of client_id}_{data_type}.
-- Errors: 22023 for a bad argument (p_rows not an array of objects: the message names the first
-- offending element's index; a data_type or table_name outside [a-z][a-z0-9_]); 23505 when the
-- email (case-insensitively), client_id or auth_user_id already belongs to a client.
-- A unique violation it does not name itself (clients_identity_distinct, raised by the clients
-- trigger of 20261125002500) keeps that trigger's message, which says which id collides with
-- which client, rather than a generic 'the client already exists'.
create or replace function public.create_client_with_data(
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
  if p_schema_def is not null and jsonb_typeof(p_schema_def) <> 'object' then
    raise exception using errcode = '22023', message = 'schema_def must be a JSON object';
  end if;
  perform private.check_rows(v_rows);

  begin
    insert into public.clients (client_id, company_name, email, password_hash, auth_user_id)
    values (v_client_id, btrim(p_company_name), btrim(p_email), p_password_hash, p_auth_user_id)
    returning * into v_client;
  exception when unique_violation then
    get stacked diagnostics v_constraint = constraint_name, v_message = message_text;
    raise exception using errcode = '23505',
      message = case v_constraint
        when 'clients_email_lower_key' then format('a client with email %s already exists', btrim(p_email))
        when 'clients_pkey' then format('a client with client_id %s already exists', v_client_id)
        when 'clients_auth_user_id_key' then format('auth_user_id %s already belongs to a client', p_auth_user_id)
        else v_message
      end,
      constraint = v_constraint;
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

revoke execute on function public.create_client_with_data(text, text, text, text, text, jsonb, jsonb, uuid, uuid)
  from public, anon, authenticated;
grant execute on function public.create_client_with_data(text, text, text, text, text, jsonb, jsonb, uuid, uuid)
  to service_role;
