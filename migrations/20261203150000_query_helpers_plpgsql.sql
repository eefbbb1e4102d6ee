-- private.query_columns and private.query_timestamp as PL/pgSQL, same bodies, same answers; and
-- private.query_resolve_table with one statement on client_schemas instead of two.
-- The first two were `language sql` with `set search_path = ''`: a SQL function with a SET clause is never
-- inlined, and each call from PL/pgSQL parses and plans its body again (`fmgr_sql` →
-- `pg_parse_query` in a `perf record` of the backend during reads). PL/pgSQL keeps the plan of
-- each statement for the session. Measured with pgbench on the development database, 5,000 calls
-- each, old and new in turn (load average 4): query_columns of an 8-column schema 0.24-0.28 →
-- 0.09-0.13 ms per call (every read resolves its table through it); query_timestamp 0.099 →
-- 0.04-0.055 ms per call, and over 200,000 values in one query (the way a date filter, a date
-- group-by bucket or a date field index calls it per row) 1.25-1.31 → 0.70-0.74 s, with the
-- same 200,000 answers.
--
-- Design decision: CREATE OR REPLACE keeps the signature, the grants and the security invoker /
-- search_path settings, so nothing that calls them changes; the field indexes built over
-- query_timestamp stay valid because its answers do not change (immutable, tested value for
-- value in tests/database/33-query-helpers-plpgsql.sql).

create or replace function private.query_columns(p_schema_def jsonb)
  returns jsonb
  language plpgsql
  immutable
  parallel safe
  set search_path = ''
as $$
begin
  if jsonb_typeof(p_schema_def -> 'columns') = 'array' then
    return coalesce((select jsonb_agg(jsonb_build_object(
                               'key', c ->> 'key',
                               'name', coalesce(c ->> 'name', c ->> 'key'),
                               'type', coalesce(c ->> 'type', 'string'),
                               'semantic_type', c -> 'semantic_type') order by o)
                       from jsonb_array_elements(p_schema_def -> 'columns') with ordinality e(c, o)
                      where jsonb_typeof(c) = 'object' and jsonb_typeof(c -> 'key') = 'string'), '[]');
  end if;
  return coalesce((select jsonb_agg(jsonb_build_object('key', e.key, 'name', e.key, 'type', e.value #>> '{}',
                                                       'semantic_type', null) order by e.key)
                     from jsonb_each(p_schema_def) e
                    where jsonb_typeof(e.value) = 'string'), '[]');
end
$$;

create or replace function private.query_timestamp(p_value text)
  returns timestamp
  language plpgsql
  immutable
  strict
  parallel safe
  set search_path = ''
as $$
begin
  -- Nested CASEs, not AND: each step may only run once the one before it held.
  return case when p_value ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?)?$'
                   and substr(p_value, 1, 4) <> '0000' then
    case when substr(p_value, 9, 2)::int
              <= extract(day from pg_catalog.make_date(substr(p_value, 1, 4)::int, substr(p_value, 6, 2)::int, 1)
                                  + interval '1 month - 1 day') then
      case when length(p_value) > 10 and substr(p_value, 11) ~ '(Z|[+-]\d{2}(:?\d{2})?)$'
        then (p_value::timestamptz) at time zone 'UTC'
        else p_value::timestamp
      end
    end
  end;
end
$$;

-- query_resolve_table with one statement on client_schemas per read instead of two: the list of
-- the client's tables (for the unknown_table and table_required errors) is read only when it is
-- needed, and a read that names no table takes the list and the one table's schema together.
-- Every statement on an RLS table plans and runs the policy's sub-selects again (~0.1 ms of a
-- read as `authenticated`, README "At scale"). Same answers and errors as 20261201000100's.
create or replace function private.query_resolve_table(p_client_id uuid, p_table jsonb, p_needs_table boolean,
                                                       out table_name text, out columns jsonb)
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_tables jsonb;
  v_def jsonb;
begin
  if p_table is not null and jsonb_typeof(p_table) <> 'null' then
    if jsonb_typeof(p_table) <> 'string' then
      perform private.query_raise('invalid_query', 'table must be a string', jsonb_build_object('path', 'table'));
    end if;
    select s.table_name, private.query_columns(s.schema_def) into table_name, columns
      from public.client_schemas s
     where s.client_id = p_client_id and s.table_name = p_table #>> '{}';
    if table_name is null then
      select coalesce(jsonb_agg(s.table_name order by s.table_name), '[]') into v_tables
        from public.client_schemas s where s.client_id = p_client_id;
      perform private.query_raise('unknown_table', format('this client has no table %s', p_table #>> '{}'),
                                  jsonb_build_object('table', p_table #>> '{}', 'tables', v_tables));
    end if;
    return;
  end if;

  select coalesce(jsonb_agg(s.table_name order by s.table_name), '[]'), (array_agg(s.schema_def))[1]
    into v_tables, v_def
    from public.client_schemas s where s.client_id = p_client_id;
  if jsonb_array_length(v_tables) = 1 then
    table_name := v_tables ->> 0;
    columns := private.query_columns(v_def);
  elsif jsonb_array_length(v_tables) > 1 and p_needs_table then
    perform private.query_raise('table_required', 'this client has several tables: name one with table',
                                jsonb_build_object('tables', v_tables));
  end if;
end
$$;
