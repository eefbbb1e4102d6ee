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
  v_count bigint;
begin
  if p_table_name is not null then
    v_sql := v_sql || ' and d.table_name = $2';
  end if;
  v_sql := v_sql || private.client_data_filter_sql(p_filter);

  execute v_sql into v_count using p_client_id, p_table_name;
  return v_count;
end
$$;

revoke execute on function public.get_client_data_count(uuid, text, jsonb) from public, anon;
grant execute on function public.get_client_data_count(uuid, text, jsonb)
  to authenticated, service_role;
