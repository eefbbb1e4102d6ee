-- A client's schema history, per table newest version first. Security invoker: another
-- tenant's client_id yields no rows.
create or replace function public.get_client_schema_versions(
  p_client_id uuid,
  p_table_name text default null
)
  returns table (table_name text, version integer, data_type text, schema_def jsonb,
                 created_at timestamptz)
  language sql
  stable
  security invoker
  set search_path = ''
as $$
  select v.table_name, v.version, v.data_type, v.schema_def, v.created_at
    from public.client_schema_versions v
   where v.client_id = p_client_id
     and (p_table_name is null or v.table_name = p_table_name)
   order by v.table_name, v.version desc
$$;

revoke execute on function public.get_client_schema_versions(uuid, text) from public, anon;
grant execute on function public.get_client_schema_versions(uuid, text) to authenticated, service_role;
