-- Privileges by default, the `private` schema, the names every table uses, and the argument
-- checks the public functions share.
--
-- Default privileges, set once for every later migration. Migrations run as `postgres` (the
-- Supabase CLI connects as postgres; so does `cargo xtask`), and these statements change the
-- defaults of the role that runs them:
--  * PostgreSQL grants EXECUTE on every new function to PUBLIC. That default is global, so it can
--    only be revoked globally (a per-schema revoke cannot take away a global default), and it then
--    holds for `private` and `staging` too.
--  * Supabase adds `alter default privileges for role postgres in schema public grant all on
--    tables, sequences, functions to anon, authenticated, service_role` (reproduced by
--    dev/supabase-bootstrap.sql). Those are per-schema defaults of postgres, which postgres may
--    revoke. (Supabase's supabase_admin has the same defaults for the objects *it* creates, which
--    postgres may not change; none of ours are created by it.)
-- So every table, view, sequence and function created from here on starts with no privilege for
-- any API role, and each migration grants exactly what a role needs, next to the object.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke all on tables from anon, authenticated, service_role;
alter default privileges in schema public revoke all on sequences from anon, authenticated, service_role;
alter default privileges in schema public revoke all on functions from anon, authenticated, service_role;

-- Schema `private` holds helpers that must never be reachable over the API: PostgREST only
-- exposes the schemas listed in its config (public on Supabase), so nothing here is an endpoint.
-- Trigger functions live here because triggers fire without an EXECUTE check, so nobody needs a
-- grant to make them run, and nobody can call them directly.
--
-- The public functions are security invoker, so a helper they call runs as their caller:
-- authenticated and service_role need USAGE on the schema and EXECUTE on exactly the helpers
-- their functions reach; anon gets neither.
create schema private;
grant usage on schema private to authenticated, service_role;

-- Names of logical tables and kinds of data: safe to show, log and put in URLs. Every column
-- that holds one has the domain's type, so the rule is written once.
-- `client_{first 8 hex of client_id}_{data_type}` (private.default_table_name) always fits it.
create domain private.table_name as text
  check (value ~ '^[a-z][a-z0-9_]{0,62}$');
create domain private.data_type as text
  check (value ~ '^[a-z][a-z0-9_]{0,31}$');

-- Keeps updated_at honest on every UPDATE, whatever the statement said.
create function private.set_updated_at()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end
$$;

-- The domains would refuse a bad name anyway, but with a message that names neither the value
-- nor the rule; the functions check their arguments with these first (22023 -> HTTP 400).
-- A null table name is refused: every caller needs one. A null data_type passes: it means "not
-- given" (keep the stored one); callers that need one default it to 'data' first.
create function private.check_table_name(p_table_name text)
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

create function private.check_data_type(p_data_type text)
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

-- A table's schema as the functions receive it: null means "keep the stored one".
create function private.check_schema_def(p_schema_def jsonb)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_schema_def is not null and jsonb_typeof(p_schema_def) <> 'object' then
    raise exception using errcode = '22023', message = 'schema_def must be a JSON object';
  end if;
end
$$;

-- The table a client's data goes to when the caller names none: client_{first 8 hex of
-- client_id}_{data_type}: at most 48 characters, so a valid name whenever data_type is valid.
create function private.default_table_name(p_client_id uuid, p_data_type text)
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
create function private.check_rows_array(p_rows jsonb)
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

create function private.check_rows(p_rows jsonb, p_rows_before bigint default null)
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

grant execute on function private.check_table_name(text), private.check_data_type(text),
  private.check_schema_def(jsonb), private.default_table_name(uuid, text),
  private.check_rows_array(jsonb), private.check_rows(jsonb, bigint)
  to authenticated, service_role;
