-- Appends rows to one of a client's logical tables (creating the table's client_schemas row when
-- it is new), all or nothing. Security invoker: a client can append only to itself, because RLS
-- hides every other client; an invisible client is reported as not found (PT404 -> HTTP 404),
-- which does not reveal whether it exists. p_schema_def / p_data_type, when given, replace the
-- table's stored ones (a re-upload with a newer schema). row_count in the result is the table's
-- count after the append, as the counts trigger left it.
create or replace function public.append_client_data(
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
  if p_schema_def is not null and jsonb_typeof(p_schema_def) <> 'object' then
    raise exception using errcode = '22023', message = 'schema_def must be a JSON object';
  end if;
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

revoke execute on function public.append_client_data(uuid, text, jsonb, jsonb, text) from public, anon;
grant execute on function public.append_client_data(uuid, text, jsonb, jsonb, text)
  to authenticated, service_role;
