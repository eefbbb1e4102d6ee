-- The seed's legacy path: copies completed rows of the old `data_uploads` table into client_data.
-- Returns the number of rows copied; 0 when public.data_uploads does not exist (a fresh project),
-- which is why the table is only ever referenced through dynamic SQL.
--
-- Each legacy row is stored whole (to_jsonb of the row, every column kept) in the client's table
-- `client_{first 8 hex of client_id}_legacy` (data_type 'legacy'). Only rows whose client_id is an
-- existing client are copied, and only those with status = 'completed' when the table has a
-- status column. Idempotent: a legacy row already copied (same client, table and data) is not
-- copied again, so running it twice stores nothing new. Admin only.
create function public.migrate_legacy_data_uploads()
  returns integer
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_source regclass := to_regclass('public.data_uploads');
  v_where text := '';
  v_copied integer;
begin
  if v_source is null then
    return 0;
  end if;
  if not exists (select from pg_catalog.pg_attribute a
                  where a.attrelid = v_source and a.attname = 'client_id'
                    and a.attnum > 0 and not a.attisdropped) then
    raise exception using errcode = '22023',
      message = 'public.data_uploads has no client_id column, so its rows belong to no client';
  end if;
  if exists (select from pg_catalog.pg_attribute a
              where a.attrelid = v_source and a.attname = 'status'
                and a.attnum > 0 and not a.attisdropped) then
    v_where := ' where u.status::text = ''completed''';
  end if;

  -- The legacy tables are labelled before the rows arrive (the counts trigger would otherwise
  -- create them as plain 'data').
  execute format(
    'insert into public.client_schemas (client_id, table_name, data_type)
     select distinct c.client_id, private.default_table_name(c.client_id, ''legacy''), ''legacy''
       from public.data_uploads u
       join public.clients c on c.client_id::text = u.client_id::text %s
     on conflict (client_id, table_name) do nothing', v_where);

  execute format(
    'insert into public.client_data (client_id, table_name, data)
     select src.client_id, src.table_name, src.data
       from (select c.client_id,
                    private.default_table_name(c.client_id, ''legacy'') as table_name,
                    to_jsonb(u) as data
               from public.data_uploads u
               join public.clients c on c.client_id::text = u.client_id::text %s) src
      where not exists (select from public.client_data d
                         where d.client_id = src.client_id
                           and d.table_name = src.table_name
                           and d.data = src.data)', v_where);
  get diagnostics v_copied = row_count;
  return v_copied;
end
$$;

grant execute on function public.migrate_legacy_data_uploads() to service_role;
