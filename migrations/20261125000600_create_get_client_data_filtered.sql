-- A client's rows, newest first (created_at desc, id desc), as the seed's
-- get_client_data_filtered(client_id, table_name?, limit?) plus a JSON equality filter and a keyset
-- cursor. Security invoker: RLS decides which rows the caller may see, so another tenant's
-- client_id simply yields no rows.
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
-- matching index (see migration 20261125000300) and stops at the LIMIT.
-- p_filter as SQL conditions on client_data `d`, for get_client_data_filtered and
-- get_client_data_count: one `and d.data->>'field' = 'text'` per pair (`is null` for a JSON
-- null), the values quoted with %L, so the result can be appended to a WHERE clause; '' for no
-- filter. Refuses (22023) anything but a JSON object, and more than 32 fields.
create or replace function private.client_data_filter_sql(p_filter jsonb)
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

revoke execute on function private.client_data_filter_sql(jsonb) from public;
grant execute on function private.client_data_filter_sql(jsonb) to authenticated, service_role;

create or replace function public.get_client_data_filtered(
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
  v_sql text := 'select d.id, d.client_id, d.table_name, d.data, d.created_at'
                ' from public.client_data d where d.client_id = $1';
  v_filter_sql text := private.client_data_filter_sql(p_filter);
begin
  if (p_after_created_at is null) <> (p_after_id is null) then
    raise exception using errcode = '22023',
      message = 'the cursor needs both p_after_created_at and p_after_id, or neither';
  end if;

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

revoke execute on function public.get_client_data_filtered(uuid, text, integer, jsonb, timestamptz, bigint)
  from public, anon;
grant execute on function public.get_client_data_filtered(uuid, text, integer, jsonb, timestamptz, bigint)
  to authenticated, service_role;
