-- The client's logical tables with their detected schema and counts. Security invoker: another
-- tenant's client_id yields no rows.
create or replace function public.get_client_schemas(p_client_id uuid)
  returns table (table_name text, data_type text, schema_def jsonb, data_stored boolean,
                 row_count bigint, created_at timestamptz, updated_at timestamptz)
  language sql
  stable
  security invoker
  set search_path = ''
as $$
  select s.table_name, s.data_type, s.schema_def, s.data_stored, s.row_count,
         s.created_at, s.updated_at
    from public.client_schemas s
   where s.client_id = p_client_id
   order by s.table_name
$$;

revoke execute on function public.get_client_schemas(uuid) from public, anon;
grant execute on function public.get_client_schemas(uuid) to authenticated, service_role;
