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
  v_bad record;
  v_rows_stored bigint;
  v_row_count bigint;
begin
  if p_table_name is null or p_table_name !~ '^[a-z][a-z0-9_]{0,62}$' then
    raise exception using errcode = '22023',
      message = format('table_name %L is invalid', p_table_name),
      hint = 'Use 1-63 characters: a lowercase letter, then lowercase letters, digits or _.';
  end if;
  if p_data_type is not null and p_data_type !~ '^[a-z][a-z0-9_]{0,31}$' then
    raise exception using errcode = '22023',
      message = format('data_type %L is invalid', p_data_type),
      hint = 'Use 1-32 characters: a lowercase letter, then lowercase letters, digits or _.';
  end if;
  if p_schema_def is not null and jsonb_typeof(p_schema_def) <> 'object' then
    raise exception using errcode = '22023', message = 'schema_def must be a JSON object';
  end if;
  if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
    raise exception using errcode = '22023',
      message = format('rows must be a JSON array of objects, got %s',
                       coalesce('a JSON ' || jsonb_typeof(p_rows), 'null'));
  end if;
  select e.ord - 1 as idx, jsonb_typeof(e.value) as kind into v_bad
    from jsonb_array_elements(p_rows) with ordinality e(value, ord)
   where jsonb_typeof(e.value) <> 'object'
   order by e.ord
   limit 1;
  if found then
    raise exception using errcode = '22023',
      message = format('rows[%s] is a JSON %s; every row must be a JSON object', v_bad.idx, v_bad.kind);
  end if;

  if not exists (select from public.clients c where c.client_id = p_client_id) then
    raise exception using errcode = 'PT404',
      message = format('client %s not found', p_client_id),
      hint = 'A client can only append to its own data.';
  end if;

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
