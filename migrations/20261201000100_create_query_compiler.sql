-- The read-side query compiler (docs/QUERY.md): the private helpers that turn a JSON plan into
-- SQL text for query_client_data / aggregate_client_data. Every identifier and value reaches the
-- SQL through format() with %I / %L (or is one of the fixed strings below): a plan can name any
-- field and carry any value, and it still only ever becomes a quoted literal.
--
-- Design decision: each field has ONE canonical typed expression (private.query_field_sql), used
-- by filters, order, cursors, aggregates and the on-demand expression indexes alike, so an index
-- built for a field is the exact expression the planner sees. The expressions are immutable and
-- never raise: a stored value that does not fit the column's type becomes NULL, which no typed
-- comparison matches.
--
-- Depends only on public.client_schemas / public.client_data and on helpers defined here.

-- Timestamps for `date` / `datetime` columns and values: ISO 8601 (`2024-01-15`,
-- `2024-01-15T10:30`, `2024-01-15 10:30:00.5+02:00`, `…Z`) → timestamp in UTC; anything else →
-- NULL. A value without a zone is taken as UTC, so the result never depends on the session's
-- TimeZone or DateStyle, which is what makes `immutable` true (and the function indexable).
-- The regex and the day-of-month check run first, so the cast can never raise.
create or replace function private.query_timestamp(p_value text)
  returns timestamp
  language sql
  immutable
  strict
  parallel safe
  set search_path = ''
as $$
  -- Nested CASEs, not AND: each step may only run once the one before it held.
  select case when p_value ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?)?$'
              and substr(p_value, 1, 4) <> '0000' then
    case when substr(p_value, 9, 2)::int
              <= extract(day from pg_catalog.make_date(substr(p_value, 1, 4)::int, substr(p_value, 6, 2)::int, 1)
                                  + interval '1 month - 1 day') then
      case when length(p_value) > 10 and substr(p_value, 11) ~ '(Z|[+-]\d{2}(:?\d{2})?)$'
        then (p_value::timestamptz) at time zone 'UTC'
        else p_value::timestamp
      end
    end
  end
$$;

-- A value written for a boolean column: the spellings the ingest reads as booleans, any case.
create or replace function private.query_boolean(p_value text)
  returns boolean
  language sql
  immutable
  strict
  parallel safe
  set search_path = ''
as $$
  select case
    when lower(btrim(p_value)) in ('true', 'yes', 'y', '1', 't', 'ja', 'oui', 'si', 'sí') then true
    when lower(btrim(p_value)) in ('false', 'no', 'n', '0', 'f', 'nein', 'non') then false
  end
$$;

-- PT400 with the contract's JSON detail ({code, …extra}).
create or replace function private.query_raise(p_code text, p_message text, p_extra jsonb default '{}',
                                               p_hint text default null)
  returns void
  language plpgsql
  set search_path = ''
as $$
begin
  raise exception using errcode = 'PT400', message = p_message,
    detail = (jsonb_build_object('code', p_code) || coalesce(p_extra, '{}'))::text,
    hint = coalesce(p_hint, '');
end
$$;

-- PT404 for a client the caller cannot see (RLS hides every client but the caller's own).
create or replace function private.query_check_client(p_client_id uuid)
  returns void
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  if p_client_id is null or not exists (select from public.clients c where c.client_id = p_client_id) then
    raise exception using errcode = 'PT404', message = format('client %s not found', p_client_id),
      detail = jsonb_build_object('code', 'client_not_found')::text;
  end if;
end
$$;

-- A table's columns as [{key, name, type}] from its schema_def: the ingest's
-- {"columns": [{key, name, type, …}]}, or the older {key: type} map (seed and fixtures).
create or replace function private.query_columns(p_schema_def jsonb)
  returns jsonb
  language sql
  immutable
  parallel safe
  set search_path = ''
as $$
  select case
    when jsonb_typeof(p_schema_def -> 'columns') = 'array' then
      coalesce((select jsonb_agg(jsonb_build_object(
                        'key', c ->> 'key',
                        'name', coalesce(c ->> 'name', c ->> 'key'),
                        'type', coalesce(c ->> 'type', 'string'),
                        'semantic_type', c -> 'semantic_type') order by o)
                  from jsonb_array_elements(p_schema_def -> 'columns') with ordinality e(c, o)
                 where jsonb_typeof(c) = 'object' and jsonb_typeof(c -> 'key') = 'string'), '[]')
    else
      coalesce((select jsonb_agg(jsonb_build_object('key', e.key, 'name', e.key, 'type', e.value #>> '{}',
                                                    'semantic_type', null) order by e.key)
                  from jsonb_each(p_schema_def) e
                 where jsonb_typeof(e.value) = 'string'), '[]')
  end
$$;

-- Resolves the plan's `table` against the client's tables (RLS-visible client_schemas rows).
-- p_needs_table: the plan uses fields, so "all tables" is not an answer. Returns null only when
-- no table was named and the client has none or (p_needs_table false) several.
create or replace function private.query_resolve_table(p_client_id uuid, p_table jsonb, p_needs_table boolean,
                                                       out table_name text, out columns jsonb)
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_tables jsonb;
begin
  select coalesce(jsonb_agg(s.table_name order by s.table_name), '[]') into v_tables
    from public.client_schemas s where s.client_id = p_client_id;

  if p_table is not null and jsonb_typeof(p_table) <> 'null' then
    if jsonb_typeof(p_table) <> 'string' then
      perform private.query_raise('invalid_query', 'table must be a string', jsonb_build_object('path', 'table'));
    end if;
    select s.table_name, private.query_columns(s.schema_def) into table_name, columns
      from public.client_schemas s
     where s.client_id = p_client_id and s.table_name = p_table #>> '{}';
    if table_name is null then
      perform private.query_raise('unknown_table', format('this client has no table %s', p_table #>> '{}'),
                                  jsonb_build_object('table', p_table #>> '{}', 'tables', v_tables));
    end if;
    return;
  end if;

  if jsonb_array_length(v_tables) = 1 then
    select s.table_name, private.query_columns(s.schema_def) into table_name, columns
      from public.client_schemas s where s.client_id = p_client_id;
  elsif jsonb_array_length(v_tables) > 1 and p_needs_table then
    perform private.query_raise('table_required', 'this client has several tables: name one with table',
                                jsonb_build_object('tables', v_tables));
  end if;
end
$$;

-- A field of the plan → its stored key, its type and its canonical typed SQL expression on the
-- row alias `d`. Matched against keys, then header texts, exactly, then case-insensitively; the
-- row's own `id` and `created_at` when no column claims those names.
--   integer/number → numeric (NULL for anything but a JSON number)
--   boolean        → boolean (NULL for anything but a JSON boolean)
--   date/datetime  → timestamp via private.query_timestamp (NULL for non-ISO text)
--   everything else → the value's text, d.data->>key
create or replace function private.query_field(p_columns jsonb, p_field jsonb, p_path text,
                                               out key text, out type text, out expr text)
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_name text;
  v_col jsonb;
begin
  if p_field is null or jsonb_typeof(p_field) <> 'string' or length(p_field #>> '{}') = 0 then
    perform private.query_raise('invalid_query', format('%s must be a field name', p_path),
                                jsonb_build_object('path', p_path));
  end if;
  v_name := p_field #>> '{}';
  select c into v_col from jsonb_array_elements(coalesce(p_columns, '[]')) with ordinality e(c, o)
   order by case when c ->> 'key' = v_name then 0
                 when c ->> 'name' = v_name then 1
                 when lower(c ->> 'key') = lower(v_name) then 2
                 when lower(c ->> 'name') = lower(v_name) then 3 end nulls last, o
   limit 1;
  if v_col is not null and (v_col ->> 'key' = v_name or v_col ->> 'name' = v_name
                            or lower(v_col ->> 'key') = lower(v_name) or lower(v_col ->> 'name') = lower(v_name)) then
    key := v_col ->> 'key';
    type := v_col ->> 'type';
    expr := case
      when type in ('integer', 'number') then
        format('(case when jsonb_typeof(d.data -> %1$L) = ''number'' then (d.data -> %1$L)::numeric end)', key)
      when type = 'boolean' then
        format('(case when jsonb_typeof(d.data -> %1$L) = ''boolean'' then (d.data -> %1$L)::boolean end)', key)
      when type in ('date', 'datetime') then
        format('private.query_timestamp(d.data ->> %L)', key)
      else format('(d.data ->> %L)', key)
    end;
    return;
  end if;
  if lower(v_name) = 'id' then
    key := 'id'; type := 'id'; expr := 'd.id';
    return;
  end if;
  if lower(v_name) = 'created_at' then
    key := 'created_at'; type := 'created_at'; expr := 'd.created_at';
    return;
  end if;
  perform private.query_raise('unknown_field', format('unknown field %s', v_name),
    jsonb_build_object('field', v_name, 'path', p_path,
                       'fields', coalesce((select jsonb_agg(c ->> 'key') from jsonb_array_elements(p_columns) c), '[]')));
end
$$;

-- A value the user wrote (text), typed for a field, as a SQL literal; or, with p_json, as the
-- jsonb scalar stored for it (for containment). Raises invalid_value when it does not parse.
create or replace function private.query_value(p_key text, p_type text, p_value jsonb, p_path text,
                                               out sql text, out json jsonb)
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_text text;
  v_ts timestamp;
  v_bool boolean;
begin
  if p_value is null or jsonb_typeof(p_value) not in ('string', 'number', 'boolean') then
    perform private.query_raise('invalid_query', format('%s must be a text value', p_path),
                                jsonb_build_object('path', p_path));
  end if;
  v_text := p_value #>> '{}';
  if p_type in ('integer', 'number', 'id') then
    if btrim(v_text, E' \t\r\n') !~ '^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$'
       or (p_type = 'id' and btrim(v_text, E' \t\r\n') !~ '^\+?\d{1,18}$') then
      perform private.query_raise('invalid_value', format('%s is not a valid %s for field %s', v_text,
                                    case p_type when 'id' then 'integer' else p_type end, p_key),
                                  jsonb_build_object('field', p_key, 'type', p_type, 'value', v_text));
    end if;
    sql := format('%L::%s', btrim(v_text, E' \t\r\n')::numeric, case p_type when 'id' then 'bigint' else 'numeric' end);
    json := to_jsonb(btrim(v_text, E' \t\r\n')::numeric);
  elsif p_type = 'boolean' then
    v_bool := private.query_boolean(v_text);
    if v_bool is null then
      perform private.query_raise('invalid_value', format('%s is not a boolean (field %s)', v_text, p_key),
                                  jsonb_build_object('field', p_key, 'type', p_type, 'value', v_text),
                                  'true/false, yes/no, 1/0');
    end if;
    sql := case when v_bool then 'true' else 'false' end;
    json := to_jsonb(v_bool);
  elsif p_type in ('date', 'datetime', 'created_at') then
    v_ts := private.query_timestamp(btrim(v_text, E' \t\r\n'));
    if v_ts is null then
      perform private.query_raise('invalid_value', format('%s is not an ISO 8601 date for field %s', v_text, p_key),
                                  jsonb_build_object('field', p_key, 'type', p_type, 'value', v_text),
                                  'write dates as 2024-01-15 or 2024-01-15T10:30:00Z');
    end if;
    sql := case when p_type = 'created_at' then format('(%L::timestamp at time zone ''UTC'')', v_ts)
                else format('%L::timestamp', v_ts) end;
    json := to_jsonb(v_ts);
  else
    sql := format('%L::text', v_text);
    json := to_jsonb(v_text);
  end if;
end
$$;

-- A filter NODE → a SQL boolean expression. p_negated: under a `not`, where a leaf's NULL and
-- false differ, so equality uses the typed expression instead of containment (outside any
-- `not`, `data @> {key: value}` selects exactly the rows `expr = value` does for string, number
-- and boolean columns, and a GIN index can serve it). Bounded: depth ≤ 8, ≤ 100 leaves,
-- ≤ 1000 values in one `in`.
create or replace function private.query_filter_sql(p_columns jsonb, p_node jsonb, p_path text, p_depth integer,
                                                    p_negated boolean, inout leaves integer, out sql text)
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_kind text;
  v_part record;
  v_parts text[] := '{}';
  v_child record;
  v_field record;
  v_value record;
  v_op text;
  v_vals text[] := '{}';
  v_like text;
  v_is text;
begin
  if p_depth > 8 then
    perform private.query_raise('invalid_query', 'the filter is nested deeper than 8 levels',
                                jsonb_build_object('path', p_path));
  end if;
  if jsonb_typeof(p_node) <> 'object' then
    perform private.query_raise('invalid_query', format('%s must be a filter object', p_path),
                                jsonb_build_object('path', p_path));
  end if;

  if p_node ? 'and' or p_node ? 'or' then
    v_kind := case when p_node ? 'and' then 'and' else 'or' end;
    if (select count(*) from jsonb_object_keys(p_node)) <> 1 or jsonb_typeof(p_node -> v_kind) <> 'array'
       or jsonb_array_length(p_node -> v_kind) = 0 then
      perform private.query_raise('invalid_query', format('%s.%s must be the only key, with a non-empty list', p_path, v_kind),
                                  jsonb_build_object('path', p_path || '.' || v_kind));
    end if;
    for v_part in select e.n, o - 1 as i from jsonb_array_elements(p_node -> v_kind) with ordinality e(n, o) loop
      select * into v_child
        from private.query_filter_sql(p_columns, v_part.n, format('%s.%s[%s]', p_path, v_kind, v_part.i),
                                      p_depth + 1, p_negated, leaves);
      leaves := v_child.leaves;
      v_parts := v_parts || v_child.sql;
    end loop;
    sql := '(' || array_to_string(v_parts, ' ' || v_kind || ' ') || ')';
    return;
  end if;

  if p_node ? 'not' then
    if (select count(*) from jsonb_object_keys(p_node)) <> 1 then
      perform private.query_raise('invalid_query', format('%s.not must be the only key', p_path),
                                  jsonb_build_object('path', p_path || '.not'));
    end if;
    select * into v_child
      from private.query_filter_sql(p_columns, p_node -> 'not', p_path || '.not', p_depth + 1, not p_negated, leaves);
    leaves := v_child.leaves;
    sql := '(not ' || v_child.sql || ')';
    return;
  end if;

  -- a leaf
  leaves := leaves + 1;
  if leaves > 100 then
    perform private.query_raise('invalid_query', 'the filter has more than 100 conditions',
                                jsonb_build_object('path', p_path));
  end if;
  if exists (select from jsonb_object_keys(p_node) k where k not in ('field', 'op', 'value')) then
    perform private.query_raise('invalid_query', format('%s: a condition has field, op and value only', p_path),
                                jsonb_build_object('path', p_path));
  end if;
  select * into v_field from private.query_field(p_columns, p_node -> 'field', p_path || '.field');
  v_op := p_node ->> 'op';
  if v_op is null or v_op not in ('eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'in', 'is') then
    perform private.query_raise('invalid_operator', format('%s is not an operator', coalesce(v_op, 'null')),
                                jsonb_build_object('field', v_field.key, 'type', v_field.type, 'op', v_op, 'path', p_path || '.op'),
                                'eq, neq, gt, gte, lt, lte, like, ilike, in, is');
  end if;
  if (v_op in ('gt', 'gte', 'lt', 'lte', 'like', 'ilike') and v_field.type = 'boolean')
     or (v_op in ('like', 'ilike') and v_field.type in ('integer', 'number', 'date', 'datetime', 'id', 'created_at')) then
    perform private.query_raise('invalid_operator', format('%s does not apply to field %s of type %s', v_op, v_field.key, v_field.type),
                                jsonb_build_object('field', v_field.key, 'type', v_field.type, 'op', v_op, 'path', p_path || '.op'));
  end if;

  if v_op = 'is' then
    v_is := lower(p_node ->> 'value');
    if v_is = 'null' then
      -- a missing key and a JSON null are both "null"; for id/created_at never
      sql := case when v_field.type in ('id', 'created_at') then 'false'
                  else format('(d.data ->> %L) is null', v_field.key) end;
    elsif v_is in ('true', 'false', 'unknown') then
      if v_field.type <> 'boolean' then
        perform private.query_raise('invalid_operator', format('is.%s applies to boolean fields only, not %s', v_is, v_field.key),
                                    jsonb_build_object('field', v_field.key, 'type', v_field.type, 'op', 'is', 'path', p_path || '.op'));
      end if;
      sql := format('(%s is %s)', v_field.expr, v_is);
    else
      perform private.query_raise('invalid_value', format('is takes null, true, false or unknown, not %s', coalesce(p_node ->> 'value', 'nothing')),
                                  jsonb_build_object('field', v_field.key, 'type', v_field.type, 'value', p_node ->> 'value'));
    end if;
    return;
  end if;

  if v_op = 'in' then
    if jsonb_typeof(p_node -> 'value') is distinct from 'array' or jsonb_array_length(p_node -> 'value') > 1000 then
      perform private.query_raise('invalid_query', format('%s.value of in must be a list of at most 1000 values', p_path),
                                  jsonb_build_object('path', p_path || '.value'));
    end if;
    for v_part in select e.v, o - 1 as i from jsonb_array_elements(p_node -> 'value') with ordinality e(v, o) loop
      select * into v_value from private.query_value(v_field.key, v_field.type, v_part.v, format('%s.value[%s]', p_path, v_part.i));
      v_vals := v_vals || v_value.sql;
    end loop;
    sql := case when cardinality(v_vals) = 0 then 'false'
                else format('(%s in (%s))', v_field.expr, array_to_string(v_vals, ', ')) end;
    return;
  end if;

  select * into v_value from private.query_value(v_field.key, v_field.type, p_node -> 'value', p_path || '.value');
  if v_op in ('like', 'ilike') then
    -- PostgREST's `*` is the wildcard; the user's %, _ and \ are literal.
    v_like := replace(replace(replace(replace(p_node ->> 'value', '\', '\\'), '%', '\%'), '_', '\_'), '*', '%');
    sql := format('(%s %s %L)', v_field.expr, v_op, v_like);
  elsif v_op = 'eq' and not p_negated and v_field.type in ('string', 'integer', 'number', 'boolean') then
    sql := format('(d.data @> %L::jsonb)', jsonb_build_object(v_field.key, v_value.json));
  else
    sql := format('(%s %s %s)', v_field.expr,
                  case v_op when 'eq' then '=' when 'neq' then '<>' when 'gt' then '>' when 'gte' then '>='
                            when 'lt' then '<' else '<=' end,
                  v_value.sql);
  end if;
end
$$;

-- The plan's `q` → a full-text condition over the table's text-like fields ('simple'
-- configuration: no language is assumed for a client's data). NULL when there is no `q`.
create or replace function private.query_search_sql(p_columns jsonb, p_q jsonb)
  returns text
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_fields text[];
begin
  if p_q is null or jsonb_typeof(p_q) = 'null' then
    return null;
  end if;
  if jsonb_typeof(p_q) <> 'string' or length(p_q #>> '{}') > 500 then
    perform private.query_raise('invalid_query', 'q must be a text of at most 500 characters',
                                jsonb_build_object('path', 'q'));
  end if;
  select array_agg(format('d.data ->> %L', c ->> 'key') order by o) into v_fields
    from jsonb_array_elements(p_columns) with ordinality e(c, o)
   where c ->> 'type' in ('string', 'mixed');
  if v_fields is null then
    return 'false';
  end if;
  return format('(to_tsvector(''simple'', concat_ws('' '', %s)) @@ websearch_to_tsquery(''simple'', %L))',
                array_to_string(v_fields, ', '), p_q #>> '{}');
end
$$;

-- The WHERE clause every plan shares: tenant, table, filter and search.
create or replace function private.query_where_sql(p_client_id uuid, p_table text, p_columns jsonb,
                                                   p_filter jsonb, p_q jsonb)
  returns text
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_sql text := format('d.client_id = %L::uuid', p_client_id);
  v_filter record;
  v_search text := private.query_search_sql(p_columns, p_q);
begin
  if p_table is not null then
    v_sql := v_sql || format(' and d.table_name = %L', p_table);
  end if;
  if p_filter is not null and jsonb_typeof(p_filter) <> 'null' then
    select * into v_filter from private.query_filter_sql(p_columns, p_filter, 'filter', 1, false, 0);
    v_sql := v_sql || ' and ' || v_filter.sql;
  end if;
  if v_search is not null then
    v_sql := v_sql || ' and ' || v_search;
  end if;
  return v_sql;
end
$$;

do $$
declare
  v_fn text;
begin
  foreach v_fn in array array[
    'private.query_timestamp(text)', 'private.query_boolean(text)',
    'private.query_raise(text, text, jsonb, text)', 'private.query_check_client(uuid)',
    'private.query_columns(jsonb)', 'private.query_resolve_table(uuid, jsonb, boolean)',
    'private.query_field(jsonb, jsonb, text)', 'private.query_value(text, text, jsonb, text)',
    'private.query_filter_sql(jsonb, jsonb, text, integer, boolean, integer)',
    'private.query_search_sql(jsonb, jsonb)', 'private.query_where_sql(uuid, text, jsonb, jsonb, jsonb)']
  loop
    execute format('revoke execute on function %s from public', v_fn);
    execute format('grant execute on function %s to authenticated, service_role', v_fn);
  end loop;
end
$$;
