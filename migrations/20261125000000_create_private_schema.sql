-- Schema `private` holds helpers that must never be reachable over the API: PostgREST only
-- exposes the schemas listed in its config (public on Supabase), so nothing here is an endpoint.
-- Trigger functions live here because triggers fire without an EXECUTE check, so nobody needs a
-- grant to make them run, and nobody can call them directly.
--
-- The argument checks the public functions share live here too. Those functions are security
-- invoker, so a helper they call runs as their caller: authenticated and service_role need USAGE
-- on the schema and EXECUTE on exactly the helpers their functions reach; anon gets neither.
-- Every function here has EXECUTE revoked from public, so USAGE alone makes nothing callable.
create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

-- Keeps updated_at honest on every UPDATE, whatever the statement said.
create or replace function private.set_updated_at()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end
$$;

revoke execute on function private.set_updated_at() from public;

-- Names of logical tables and kinds of data: safe to show, log and put in URLs (the same
-- patterns as the check constraints on client_schemas, client_data and staging.uploads, which
-- would refuse a bad name anyway, but with a message that names neither the value nor the rule).
-- A null table name is refused: every caller needs one. A null data_type passes: it means "not
-- given" (keep the stored one); callers that need one default it to 'data' first.
create or replace function private.check_table_name(p_table_name text)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_table_name is null or p_table_name !~ '^[a-z][a-z0-9_]{0,62}$' then
    raise exception using errcode = '22023',
      message = format('table_name %L is invalid', p_table_name),
      hint = 'Use 1-63 characters: a lowercase letter, then lowercase letters, digits or _.';
  end if;
end
$$;

create or replace function private.check_data_type(p_data_type text)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_data_type !~ '^[a-z][a-z0-9_]{0,31}$' then
    raise exception using errcode = '22023',
      message = format('data_type %L is invalid', p_data_type),
      hint = 'Use 1-32 characters: a lowercase letter, then lowercase letters, digits or _.';
  end if;
end
$$;

-- The table a client's data goes to when the caller names none: client_{first 8 hex of
-- client_id}_{data_type}: at most 48 characters, so a valid name whenever data_type is valid.
create or replace function private.default_table_name(p_client_id uuid, p_data_type text)
  returns text
  language sql
  immutable
  set search_path = ''
as $$
  select 'client_' || left(p_client_id::text, 8) || '_' || p_data_type
$$;

-- Rows to store arrive as one JSON array of objects. check_rows_array checks the outer shape only
-- (cheap, before any lookup); check_rows also finds the first element that is not an object and
-- names its index in the array, and with p_rows_before (rows an upload staged in earlier
-- batches) says in the detail which row of the whole upload it is.
create or replace function private.check_rows_array(p_rows jsonb)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
    raise exception using errcode = '22023',
      message = format('rows must be a JSON array of objects, got %s',
                       coalesce('a JSON ' || jsonb_typeof(p_rows), 'null'));
  end if;
end
$$;

create or replace function private.check_rows(p_rows jsonb, p_rows_before bigint default null)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_bad record;
begin
  perform private.check_rows_array(p_rows);
  select e.ord - 1 as idx, jsonb_typeof(e.value) as kind into v_bad
    from jsonb_array_elements(p_rows) with ordinality e(value, ord)
   where jsonb_typeof(e.value) <> 'object'
   order by e.ord
   limit 1;
  if not found then
    return;
  end if;
  if p_rows_before is null then
    raise exception using errcode = '22023',
      message = format('rows[%s] is a JSON %s; every row must be a JSON object', v_bad.idx, v_bad.kind);
  end if;
  raise exception using errcode = '22023',
    message = format('rows[%s] is a JSON %s; every row must be a JSON object', v_bad.idx, v_bad.kind),
    detail = format('row %s of the upload', p_rows_before + v_bad.idx + 1);
end
$$;

revoke execute on function private.check_table_name(text), private.check_data_type(text),
  private.default_table_name(uuid, text), private.check_rows_array(jsonb),
  private.check_rows(jsonb, bigint)
  from public;
grant execute on function private.check_table_name(text), private.check_data_type(text),
  private.default_table_name(uuid, text), private.check_rows_array(jsonb),
  private.check_rows(jsonb, bigint)
  to authenticated, service_role;
