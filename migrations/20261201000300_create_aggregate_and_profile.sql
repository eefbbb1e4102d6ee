-- aggregate_client_data (group by fields and date buckets; count/sum/avg/min/max/count_distinct)
-- and profile_client_table (per column: nulls, distinct, min/max, histogram, top values) — what
-- a chart can draw directly (docs/QUERY.md). Both compile through the helpers of
-- 20261201000100 (same field resolution, same typed expressions, same filters) and are
-- security invoker: RLS decides the rows, another tenant's client is PT404.
--
-- Design decision: the profile computes everything from the rows, exactly (one grouped pass per
-- column), instead of reading pg_stats: pg_stats describes the whole shared client_data table
-- (every tenant's `data` as one jsonb column), so it has no per-tenant, per-field numbers.

create or replace function public.aggregate_client_data(p_client_id uuid, p_query jsonb)
  returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_query jsonb := coalesce(p_query, '{}');
  v_table record;
  v_where text;
  v_item record;
  v_field record;
  v_bad text;
  v_bucket text;
  v_group_sql text[] := '{}';
  v_group_keys text[] := '{}';
  v_key_pairs text[] := '{}';
  v_metric_sql text[] := '{}';
  v_metric_names text[] := '{}';
  v_metric_pairs text[] := '{}';
  v_order_sql text[] := '{}';
  v_fn text;
  v_name text;
  v_by text;
  v_limit integer := 1000;
  v_i integer;
  v_groups jsonb;
  v_count bigint;
begin
  perform private.query_check_client(p_client_id);
  if jsonb_typeof(v_query) <> 'object' then
    perform private.query_raise('invalid_query', 'the query must be a JSON object', jsonb_build_object('path', ''));
  end if;
  select k into v_bad from jsonb_object_keys(v_query) k
   where k not in ('table', 'filter', 'q', 'group_by', 'metrics', 'order', 'limit') limit 1;
  if v_bad is not null then
    perform private.query_raise('invalid_query', format('unknown query key %s', v_bad), jsonb_build_object('path', v_bad));
  end if;
  if v_query ? 'limit' and jsonb_typeof(v_query -> 'limit') <> 'null' then
    if jsonb_typeof(v_query -> 'limit') <> 'number' or (v_query ->> 'limit') !~ '^\d{1,5}$'
       or (v_query ->> 'limit')::int not between 1 and 10000 then
      perform private.query_raise('invalid_query', 'limit must be an integer from 1 to 10000', jsonb_build_object('path', 'limit'));
    end if;
    v_limit := (v_query ->> 'limit')::int;
  end if;

  select * into v_table from private.query_resolve_table(p_client_id, v_query -> 'table', true);
  v_where := private.query_where_sql(p_client_id, v_table.table_name, v_table.columns, v_query -> 'filter', v_query -> 'q');

  -- group_by
  if coalesce(jsonb_typeof(v_query -> 'group_by'), 'null') = 'null' then
    v_query := jsonb_set(v_query, '{group_by}', '[]');
  end if;
  if jsonb_typeof(v_query -> 'group_by') <> 'array' or jsonb_array_length(v_query -> 'group_by') > 5 then
    perform private.query_raise('invalid_query', 'group_by must be a list of at most 5 {field, bucket}', jsonb_build_object('path', 'group_by'));
  end if;
  for v_item in select e.g, n - 1 as i from jsonb_array_elements(v_query -> 'group_by') with ordinality e(g, n) loop
    if jsonb_typeof(v_item.g) <> 'object' or exists (select from jsonb_object_keys(v_item.g) k where k not in ('field', 'bucket')) then
      perform private.query_raise('invalid_query', format('group_by[%s] must be {field, bucket}', v_item.i),
                                  jsonb_build_object('path', format('group_by[%s]', v_item.i)));
    end if;
    select * into v_field from private.query_field(v_table.columns, v_item.g -> 'field', format('group_by[%s].field', v_item.i));
    v_bucket := v_item.g ->> 'bucket';
    if v_bucket is not null then
      if v_bucket not in ('day', 'week', 'month', 'year') then
        perform private.query_raise('invalid_query', 'bucket is day, week, month or year',
                                    jsonb_build_object('path', format('group_by[%s].bucket', v_item.i)));
      end if;
      if v_field.type not in ('date', 'datetime', 'created_at') then
        perform private.query_raise('invalid_operator', format('a %s bucket needs a date field; %s is %s', v_bucket, v_field.key, v_field.type),
                                    jsonb_build_object('field', v_field.key, 'type', v_field.type, 'op', 'bucket',
                                                       'path', format('group_by[%s].bucket', v_item.i)));
      end if;
      v_group_sql := v_group_sql || format('to_char(date_trunc(%L, %s), ''YYYY-MM-DD'')', v_bucket,
        case when v_field.type = 'created_at' then '(d.created_at at time zone ''UTC'')' else v_field.expr end);
    elsif v_field.type = 'created_at' then
      v_group_sql := v_group_sql || '(d.created_at at time zone ''UTC'')';
    elsif v_field.type = 'date' then
      v_group_sql := v_group_sql || (v_field.expr || '::date');
    else
      v_group_sql := v_group_sql || v_field.expr;
    end if;
    if v_field.key = any (v_group_keys) then
      perform private.query_raise('invalid_query', format('%s is grouped by twice', v_field.key),
                                  jsonb_build_object('path', format('group_by[%s]', v_item.i)));
    end if;
    v_group_keys := v_group_keys || v_field.key;
    v_key_pairs := v_key_pairs || format('%L, a.k%s', v_field.key, v_item.i);
  end loop;

  -- metrics
  if coalesce(jsonb_typeof(v_query -> 'metrics'), 'null') = 'null' then
    v_query := jsonb_set(v_query, '{metrics}', '[{"fn": "count"}]');
  end if;
  if jsonb_typeof(v_query -> 'metrics') <> 'array' or jsonb_array_length(v_query -> 'metrics') not between 1 and 20 then
    perform private.query_raise('invalid_query', 'metrics must be a list of 1 to 20 {fn, field}', jsonb_build_object('path', 'metrics'));
  end if;
  for v_item in select e.m, n - 1 as i from jsonb_array_elements(v_query -> 'metrics') with ordinality e(m, n) loop
    if jsonb_typeof(v_item.m) <> 'object' or exists (select from jsonb_object_keys(v_item.m) k where k not in ('fn', 'field')) then
      perform private.query_raise('invalid_query', format('metrics[%s] must be {fn, field}', v_item.i),
                                  jsonb_build_object('path', format('metrics[%s]', v_item.i)));
    end if;
    v_fn := v_item.m ->> 'fn';
    if v_fn is null or v_fn not in ('count', 'sum', 'avg', 'min', 'max', 'count_distinct') then
      perform private.query_raise('invalid_query', 'fn is count, sum, avg, min, max or count_distinct',
                                  jsonb_build_object('path', format('metrics[%s].fn', v_item.i)));
    end if;
    if v_fn = 'count' and coalesce(jsonb_typeof(v_item.m -> 'field'), 'null') = 'null' then
      v_name := 'count';
      v_metric_sql := v_metric_sql || 'count(*)'::text;
    else
      select * into v_field from private.query_field(v_table.columns, v_item.m -> 'field', format('metrics[%s].field', v_item.i));
      if (v_fn in ('sum', 'avg') and v_field.type not in ('integer', 'number'))
         or (v_fn in ('min', 'max') and v_field.type = 'boolean') then
        perform private.query_raise('invalid_operator', format('%s does not apply to field %s of type %s', v_fn, v_field.key, v_field.type),
                                    jsonb_build_object('field', v_field.key, 'type', v_field.type, 'op', v_fn,
                                                       'path', format('metrics[%s].fn', v_item.i)));
      end if;
      v_name := v_fn || '_' || v_field.key;
      v_metric_sql := v_metric_sql || case v_fn
        when 'count' then format('count(%s)', v_field.expr)
        when 'count_distinct' then format('count(distinct %s)', v_field.expr)
        when 'avg' then format('trim_scale(round(avg(%s), 6))', v_field.expr)
        when 'min' then format('min(%s)', case v_field.type when 'created_at' then '(d.created_at at time zone ''UTC'')'
                                                             when 'date' then v_field.expr || '::date' else v_field.expr end)
        when 'max' then format('max(%s)', case v_field.type when 'created_at' then '(d.created_at at time zone ''UTC'')'
                                                             when 'date' then v_field.expr || '::date' else v_field.expr end)
        else format('%s(%s)', v_fn, v_field.expr) end;
    end if;
    if v_name = any (v_metric_names) then
      perform private.query_raise('invalid_query', format('metric %s is asked twice', v_name),
                                  jsonb_build_object('path', format('metrics[%s]', v_item.i)));
    end if;
    v_metric_names := v_metric_names || v_name;
    v_metric_pairs := v_metric_pairs || format('%L, a.m%s', v_name, v_item.i);
  end loop;

  -- order: "group:<field>" or "metric:<n>"; default the group keys ascending
  if coalesce(jsonb_typeof(v_query -> 'order'), 'null') = 'null' then
    v_query := jsonb_set(v_query, '{order}', '[]');
  end if;
  if jsonb_typeof(v_query -> 'order') <> 'array' or jsonb_array_length(v_query -> 'order') > 10 then
    perform private.query_raise('invalid_query', 'order must be a list of at most 10 {by, dir}', jsonb_build_object('path', 'order'));
  end if;
  for v_item in select e.o, n - 1 as i from jsonb_array_elements(v_query -> 'order') with ordinality e(o, n) loop
    v_by := v_item.o ->> 'by';
    if jsonb_typeof(v_item.o) <> 'object' or coalesce(lower(v_item.o ->> 'dir'), 'asc') not in ('asc', 'desc')
       or v_by is null or not (v_by like 'group:%' or v_by ~ '^metric:\d{1,2}$') then
      perform private.query_raise('invalid_query', format('order[%s] must be {by: "group:<field>" | "metric:<n>", dir}', v_item.i),
                                  jsonb_build_object('path', format('order[%s]', v_item.i)));
    end if;
    if v_by like 'group:%' then
      select * into v_field from private.query_field(v_table.columns, to_jsonb(substr(v_by, 7)), format('order[%s].by', v_item.i));
      v_i := array_position(v_group_keys, v_field.key);
      if v_i is null then
        perform private.query_raise('invalid_query', format('order[%s]: %s is not a group_by field', v_item.i, v_field.key),
                                    jsonb_build_object('path', format('order[%s].by', v_item.i)));
      end if;
      v_order_sql := v_order_sql || format('a.k%s %s', v_i - 1, coalesce(lower(v_item.o ->> 'dir'), 'asc'));
    else
      v_i := substr(v_by, 8)::int;
      if v_i >= cardinality(v_metric_names) then
        perform private.query_raise('invalid_query', format('order[%s]: there is no metric %s', v_item.i, v_i),
                                    jsonb_build_object('path', format('order[%s].by', v_item.i)));
      end if;
      v_order_sql := v_order_sql || format('a.m%s %s', v_i, coalesce(lower(v_item.o ->> 'dir'), 'asc'));
    end if;
  end loop;
  for v_i in 1 .. cardinality(v_group_keys) loop
    v_order_sql := v_order_sql || format('a.k%s', v_i - 1);
  end loop;

  execute format(
    'select coalesce(jsonb_agg(jsonb_build_object(''key'', s.k, ''metrics'', s.m) order by s.n) filter (where s.n <= %1$s), ''[]''::jsonb),'
    '       coalesce(max(s.total), 0)'
    '  from (select jsonb_build_object(%2$s) as k, jsonb_build_object(%3$s) as m,'
    '               count(*) over () as total, row_number() over (%4$s) as n'
    '          from (select %5$s from public.client_data d where %6$s %7$s) a) s',
    v_limit, array_to_string(v_key_pairs, ', '), array_to_string(v_metric_pairs, ', '),
    case when cardinality(v_order_sql) > 0 then 'order by ' || array_to_string(v_order_sql, ', ') else '' end,
    array_to_string(
      array(select format('%s as k%s', g, n - 1) from unnest(v_group_sql) with ordinality u(g, n))
      || array(select format('%s as m%s', m, n - 1) from unnest(v_metric_sql) with ordinality u(m, n)), ', '),
    v_where,
    case when cardinality(v_group_sql) > 0
         then 'group by ' || (select string_agg(n::text, ', ') from generate_series(1, cardinality(v_group_sql)) n)
         else '' end)
    into v_groups, v_count;

  return jsonb_build_object('table', v_table.table_name, 'groups', v_groups, 'group_count', v_count);
end
$$;

revoke execute on function public.aggregate_client_data(uuid, jsonb) from public, anon;
grant execute on function public.aggregate_client_data(uuid, jsonb) to authenticated, service_role;

create or replace function public.profile_client_table(p_client_id uuid, p_table_name text default null)
  returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_table record;
  v_where text;
  v_col jsonb;
  v_field record;
  v_stats jsonb;
  v_extra jsonb;
  v_columns jsonb := '[]';
  v_rows bigint;
begin
  perform private.query_check_client(p_client_id);
  select * into v_table from private.query_resolve_table(p_client_id, to_jsonb(p_table_name), true);
  if v_table.table_name is null then
    perform private.query_raise('unknown_table', 'this client has no table yet', jsonb_build_object('table', p_table_name, 'tables', '[]'::jsonb));
  end if;
  v_where := private.query_where_sql(p_client_id, v_table.table_name, v_table.columns, null, null);
  execute format('select count(*) from public.client_data d where %s', v_where) into v_rows;

  for v_col in select c from jsonb_array_elements(v_table.columns) c loop
    select * into v_field from private.query_field(v_table.columns, v_col -> 'key', 'column');
    -- nulls: a missing key or a JSON null; distinct/min/max over the typed values (text for
    -- text-like columns), so a `mixed` column is profiled by its text.
    execute format(
      'select jsonb_build_object(''nulls'', count(*) filter (where d.data ->> %1$L is null),'
      '                          ''non_null'', count(*) filter (where d.data ->> %1$L is not null),'
      '                          ''distinct_estimate'', count(distinct %2$s),'
      '                          ''min'', to_jsonb(min(%2$s)), ''max'', to_jsonb(max(%2$s)))'
      '  from public.client_data d where %3$s',
      v_field.key, case v_field.type when 'boolean' then format('(%s)::text', v_field.expr)
                                     when 'date' then v_field.expr || '::date' else v_field.expr end, v_where)
      into v_stats;
    if v_field.type = 'boolean' then
      v_stats := v_stats || jsonb_build_object('min', null, 'max', null);
    end if;

    v_extra := '{}';
    if v_field.type in ('integer', 'number', 'date', 'datetime') then
      -- 10 equal-width buckets from min to max (every bucket present, so a chart draws it as is).
      execute format(
        'with v as (select %1$s as x from public.client_data d where %2$s and %1$s is not null),'
        '     n as (select %3$s as x from v),'
        '     b as (select min(x) as lo, max(x) as hi from n),'
        '     c as (select case when b.hi = b.lo then 0 else least(floor((n.x - b.lo) / (b.hi - b.lo) * 10), 9)::int end as i,'
        '                  count(*) as c'
        '             from n, b group by 1)'
        'select jsonb_agg(jsonb_build_object(''from'', %4$s, ''to'', %5$s, ''count'', coalesce(c.c, 0)) order by g.i)'
        '  from b cross join generate_series(0, case when b.hi = b.lo then 0 else 9 end) g(i) left join c on c.i = g.i'
        ' where b.lo is not null',
        v_field.expr, v_where,
        case when v_field.type in ('date', 'datetime') then 'extract(epoch from v.x)' else 'v.x' end,
        case when v_field.type in ('date', 'datetime') then 'to_jsonb(to_timestamp(b.lo + (b.hi - b.lo) * g.i / 10) at time zone ''UTC'')'
             else 'trim_scale(round(b.lo + (b.hi - b.lo) * g.i / 10, 6))' end,
        case when v_field.type in ('date', 'datetime') then 'to_jsonb(to_timestamp(b.lo + (b.hi - b.lo) * (g.i + 1) / 10) at time zone ''UTC'')'
             else 'trim_scale(round(b.lo + (b.hi - b.lo) * (g.i + 1) / 10, 6))' end)
        into v_extra;
      v_extra := jsonb_build_object('histogram', coalesce(v_extra, '[]'));
    else
      -- the 10 most frequent values (ties by value), as text; booleans as true/false
      execute format(
        'select coalesce(jsonb_agg(jsonb_build_object(''value'', t.v, ''count'', t.c) order by t.c desc, t.v), ''[]'')'
        '  from (select %1$s as v, count(*) as c from public.client_data d'
        '         where %2$s and %1$s is not null group by 1 order by 2 desc, 1 limit 10) t',
        v_field.expr, v_where)
        into v_extra;
      v_extra := jsonb_build_object('top_values', v_extra);
    end if;

    v_columns := v_columns || jsonb_build_array(
      jsonb_build_object('key', v_field.key, 'name', v_col ->> 'name', 'type', v_field.type,
                         'semantic_type', v_col -> 'semantic_type') || v_stats || v_extra);
  end loop;

  return jsonb_build_object('table', v_table.table_name, 'row_count', v_rows, 'columns', v_columns);
end
$$;

revoke execute on function public.profile_client_table(uuid, text) from public, anon;
grant execute on function public.profile_client_table(uuid, text) to authenticated, service_role;
