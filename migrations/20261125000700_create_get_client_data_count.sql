-- How many rows get_client_data_filtered would list without a limit: same table and filter
-- semantics (see 20261125000600), same RLS (security invoker). An exact count, not the
-- trigger-maintained client_schemas.row_count, so it also honours the filter.
create or replace function public.get_client_data_count(
  p_client_id uuid,
  p_table_name text default null,
  p_filter jsonb default null
)
  returns bigint
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_sql text := 'select count(*) from public.client_data d where d.client_id = $1';
  v_field record;
  v_count bigint;
begin
  if p_filter is not null and jsonb_typeof(p_filter) <> 'object' then
    raise exception using errcode = '22023',
      message = 'p_filter must be a JSON object of {field: value} pairs',
      detail = format('got a JSON %s', jsonb_typeof(p_filter));
  end if;
  if p_filter is not null and (select count(*) from jsonb_object_keys(p_filter)) > 32 then
    raise exception using errcode = '22023', message = 'p_filter has more than 32 fields';
  end if;

  if p_table_name is not null then
    v_sql := v_sql || ' and d.table_name = $2';
  end if;
  for v_field in select f.key, f.value from jsonb_each_text(p_filter) f loop
    if v_field.value is null then
      v_sql := v_sql || format(' and d.data->>%L is null', v_field.key);
    else
      v_sql := v_sql || format(' and d.data->>%L = %L', v_field.key, v_field.value);
    end if;
  end loop;

  execute v_sql into v_count using p_client_id, p_table_name;
  return v_count;
end
$$;

revoke execute on function public.get_client_data_count(uuid, text, jsonb) from public, anon;
grant execute on function public.get_client_data_count(uuid, text, jsonb)
  to authenticated, service_role;
