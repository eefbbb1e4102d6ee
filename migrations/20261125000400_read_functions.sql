-- What clients and admins read: rows (filtered, paged), counts, tables with their schemas, the
-- schema history; and the login lookup.
--
-- Every read that takes a client_id answers PT404 `client not found` for a client the caller
-- cannot see (another tenant's, or none), never an empty answer, so a read is one call: an empty
-- page means "no rows", not "maybe not yours". All are security invoker: RLS decides what the
-- caller sees, the functions only ask.

-- p_filter as SQL conditions on client_data `d`, for get_client_data_filtered and
-- get_client_data_count: one `and d.data->>'field' = 'text'` per pair (`is null` for a JSON
-- null), the values quoted with %L, so the result can be appended to a WHERE clause; '' for no
-- filter. Refuses (22023) anything but a JSON object, and more than 32 fields.
create function private.client_data_filter_sql(p_filter jsonb)
  returns text
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_sql text := '';
  v_field record;
begin
  if p_filter is not null and jsonb_typeof(p_filter) <> 'object' then
    raise exception using errcode = '22023',
      message = 'p_filter must be a JSON object of {field: value} pairs',
      detail = format('got a JSON %s', jsonb_typeof(p_filter));
  end if;
  if p_filter is not null and (select count(*) from jsonb_object_keys(p_filter)) > 32 then
    raise exception using errcode = '22023', message = 'p_filter has more than 32 fields';
  end if;

  for v_field in select f.key, f.value from jsonb_each_text(p_filter) f loop
    if v_field.value is null then
      v_sql := v_sql || format(' and d.data->>%L is null', v_field.key);
    else
      v_sql := v_sql || format(' and d.data->>%L = %L', v_field.key, v_field.value);
    end if;
  end loop;
  return v_sql;
end
$$;

grant execute on function private.client_data_filter_sql(jsonb) to authenticated, service_role;

-- A client's rows, newest first (created_at desc, id desc), as the seed's
-- get_client_data_filtered(client_id, table_name?, limit?) plus a JSON equality filter and a
-- keyset cursor.
--
-- p_limit: null -> 100; clamped to 1..1000. 1000 is the documented maximum page size (the Worker's
--   ?limit= has the same maximum); asking for more returns 1000 rows, not an error.
-- p_filter: a JSON object {field: value}; a row matches when data->>field equals the value's text
--   for every pair (JSON null matches a missing or null field). At most 32 fields.
-- p_after_created_at + p_after_id: a keyset cursor (both or neither): rows strictly after it in
--   the listing order, i.e. (created_at, id) < (p_after_created_at, p_after_id).
--
-- Dynamic SQL (with the values passed as parameters or quoted with %L) so that each call is
-- planned for its own shape: with or without table, cursor and filter, each shape walks the
-- matching index (see 20261125000200_client_data) and stops at the LIMIT.
create function public.get_client_data_filtered(
  p_client_id uuid,
  p_table_name text default null,
  p_limit integer default 100,
  p_filter jsonb default null,
  p_after_created_at timestamptz default null,
  p_after_id bigint default null
)
  returns table (id bigint, client_id uuid, table_name text, data jsonb, created_at timestamptz)
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_limit integer := least(greatest(coalesce(p_limit, 100), 1), 1000);
  v_sql text := 'select d.id, d.client_id, d.table_name::text, d.data, d.created_at'
                ' from public.client_data d where d.client_id = $1';
  v_filter_sql text := private.client_data_filter_sql(p_filter);
begin
  if (p_after_created_at is null) <> (p_after_id is null) then
    raise exception using errcode = '22023',
      message = 'the cursor needs both p_after_created_at and p_after_id, or neither';
  end if;
  perform private.check_client_visible(p_client_id);

  if p_table_name is not null then
    v_sql := v_sql || ' and d.table_name = $2';
  end if;
  if p_after_created_at is not null then
    v_sql := v_sql || ' and (d.created_at, d.id) < ($3, $4)';
  end if;
  v_sql := v_sql || v_filter_sql;
  v_sql := v_sql || ' order by d.created_at desc, d.id desc limit $5';

  return query execute v_sql
    using p_client_id, p_table_name, p_after_created_at, p_after_id, v_limit;
end
$$;

grant execute on function public.get_client_data_filtered(uuid, text, integer, jsonb, timestamptz, bigint)
  to authenticated, service_role;

-- How many rows get_client_data_filtered would list without a limit: same table and filter
-- semantics, same visibility. An exact count, not the trigger-maintained
-- client_schemas.row_count, so it also honours the filter.
create function public.get_client_data_count(
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
  perform private.check_client_visible(p_client_id);
  if p_table_name is not null then
    v_sql := v_sql || ' and d.table_name = $2';
  end if;
  v_sql := v_sql || private.client_data_filter_sql(p_filter);

  execute v_sql into v_count using p_client_id, p_table_name;
  return v_count;
end
$$;

grant execute on function public.get_client_data_count(uuid, text, jsonb) to authenticated, service_role;

-- The client's logical tables with their detected schema and counts (none for a visible client
-- that has no table yet).
create function public.get_client_schemas(p_client_id uuid)
  returns table (table_name text, data_type text, schema_def jsonb, data_stored boolean,
                 row_count bigint, created_at timestamptz, updated_at timestamptz)
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
begin
  perform private.check_client_visible(p_client_id);
  return query
  select s.table_name::text, s.data_type::text, s.schema_def, s.data_stored, s.row_count,
         s.created_at, s.updated_at
    from public.client_schemas s
   where s.client_id = p_client_id
   order by s.table_name;
end
$$;

grant execute on function public.get_client_schemas(uuid) to authenticated, service_role;

-- A client's schema history, per table newest version first.
create function public.get_client_schema_versions(
  p_client_id uuid,
  p_table_name text default null
)
  returns table (table_name text, version integer, data_type text, schema_def jsonb,
                 created_at timestamptz)
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
begin
  perform private.check_client_visible(p_client_id);
  return query
  select v.table_name::text, v.version, v.data_type::text, v.schema_def, v.created_at
    from public.client_schema_versions v
   where v.client_id = p_client_id
     and (p_table_name is null or v.table_name = p_table_name)
   order by v.table_name, v.version desc;
end
$$;

grant execute on function public.get_client_schema_versions(uuid, text) to authenticated, service_role;

-- Login lookup for the Worker (which verifies the password itself). Service role only: this is
-- the one path that returns password_hash, which no client can read.
create function public.get_client_credentials(p_email text)
  returns table (client_id uuid, auth_user_id uuid, password_hash text)
  language sql
  stable
  security invoker
  set search_path = ''
as $$
  select c.client_id, c.auth_user_id, c.password_hash
    from public.clients c
   where lower(c.email) = lower(btrim(p_email))
$$;

grant execute on function public.get_client_credentials(text) to service_role;
