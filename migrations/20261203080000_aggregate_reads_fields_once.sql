-- aggregate_client_data, faster over a large table (issue 10: a group-by over a client's
-- million rows in ≤ 1 s; it took 2-2.9 s). Same plan grammar, same answers, same errors as
-- 20261201000300; only the SQL it compiles to changes:
--   * every field the plan groups or aggregates by is read out of `data` ONCE per row, in an
--     `offset 0` subquery (the planner cannot flatten it into the grouping, so `d.data -> 'price'`
--     is not evaluated again for jsonb_typeof, the cast and each metric), and the typed
--     expressions are computed over those extracted jsonb values;
--     The subquery also gives the planner its default estimate of 200 groups, where it guessed
--     one group per ~2 rows of `d.data ->> key` and sorted a million rows to group them into ten:
--     now it takes a HashAggregate (work_mem = 64MB keeps one in memory for many groups too).
--     `enable_sort = off`, tried first, does the same but its disable cost pushes every plan past
--     the JIT thresholds: LLVM inlining and optimisation then cost ~285 ms per call;
--   * JIT compiles expressions only (no inlining, no optimisation: ~10 ms) and only above a cost
--     of 50,000 (about half a million rows): 1.0 s → 0.7 s for a million rows on 2 busy cores.
--
-- Design decision: the typed expression over an extracted value (private.query_typed_sql) is
-- the same CASE as private.query_field's over `d.data -> key`, so a value that does not fit the
-- column's type is NULL here exactly as in filters. Filters and search still read `d.data` in the
-- subquery's WHERE (where the GIN and field indexes apply); only the grouped expressions move.

-- The canonical typed SQL expression (private.query_field's) of a field of type p_type over a
-- jsonb SQL expression p_json that holds the field's value (the value, not the row).
create or replace function private.query_typed_sql(p_type text, p_json text)
  returns text
  language sql
  immutable
  parallel safe
  set search_path = ''
as $$
  select case
    when p_type in ('integer', 'number') then
      format('(case when jsonb_typeof(%1$s) = ''number'' then (%1$s)::numeric end)', p_json)
    when p_type = 'boolean' then
      format('(case when jsonb_typeof(%1$s) = ''boolean'' then (%1$s)::boolean end)', p_json)
    when p_type in ('date', 'datetime') then
      format('private.query_timestamp(%s #>> ''{}'')', p_json)
    else format('(%s #>> ''{}'')', p_json)
  end
$$;

revoke execute on function private.query_typed_sql(text, text) from public;
grant execute on function private.query_typed_sql(text, text) to authenticated, service_role;

-- The statement aggregate_client_data runs for a plan (one row, one jsonb column: the answer),
-- after checking the plan exactly as 20261201000300 did. Separate so that pgTAP can EXPLAIN it.
create function private.aggregate_sql(p_client_id uuid, p_query jsonb)
  returns text
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
  v_expr text;
  v_group_sql text[] := '{}';
  v_group_keys text[] := '{}';
  v_key_pairs text[] := '{}';
  v_metric_sql text[] := '{}';
  v_metric_names text[] := '{}';
  v_metric_pairs text[] := '{}';
  v_order_sql text[] := '{}';
  -- The fields read out of `data` once per row: key → position n (column x.f<n>).
  v_read_keys text[] := '{}';
  v_fn text;
  v_name text;
  v_by text;
  v_limit integer := 1000;
  v_i integer;
begin
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
    if v_field.type not in ('id', 'created_at') and not v_field.key = any (v_read_keys) then
      v_read_keys := v_read_keys || v_field.key;
    end if;
    v_expr := case v_field.type when 'id' then 'x.id' when 'created_at' then '(x.created_at at time zone ''UTC'')'
      else private.query_typed_sql(v_field.type, format('x.f%s', array_position(v_read_keys, v_field.key))) end;
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
      v_group_sql := v_group_sql || format('to_char(date_trunc(%L, %s), ''YYYY-MM-DD'')', v_bucket, v_expr);
    elsif v_field.type = 'date' then
      v_group_sql := v_group_sql || (v_expr || '::date');
    else
      v_group_sql := v_group_sql || v_expr;
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
      if v_field.type not in ('id', 'created_at') and not v_field.key = any (v_read_keys) then
        v_read_keys := v_read_keys || v_field.key;
      end if;
      v_expr := case v_field.type when 'id' then 'x.id' when 'created_at' then 'x.created_at'
        else private.query_typed_sql(v_field.type, format('x.f%s', array_position(v_read_keys, v_field.key))) end;
      v_name := v_fn || '_' || v_field.key;
      v_metric_sql := v_metric_sql || case v_fn
        when 'count' then format('count(%s)', v_expr)
        when 'count_distinct' then format('count(distinct %s)', v_expr)
        when 'avg' then format('trim_scale(round(avg(%s), 6))', v_expr)
        when 'min' then format('min(%s)', case v_field.type when 'created_at' then '(x.created_at at time zone ''UTC'')'
                                                             when 'date' then v_expr || '::date' else v_expr end)
        when 'max' then format('max(%s)', case v_field.type when 'created_at' then '(x.created_at at time zone ''UTC'')'
                                                             when 'date' then v_expr || '::date' else v_expr end)
        else format('%s(%s)', v_fn, v_expr) end;
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

  return format(
    'select jsonb_build_object(''table'', %8$L::text, ''groups'','
    '         coalesce(jsonb_agg(jsonb_build_object(''key'', s.k, ''metrics'', s.m) order by s.n) filter (where s.n <= %1$s), ''[]''::jsonb),'
    '         ''group_count'', coalesce(max(s.total), 0))'
    '  from (select jsonb_build_object(%2$s) as k, jsonb_build_object(%3$s) as m,'
    '               count(*) over () as total, row_number() over (%4$s) as n'
    '          from (select %5$s from (%6$s) x %7$s) a) s',
    v_limit, array_to_string(v_key_pairs, ', '), array_to_string(v_metric_pairs, ', '),
    case when cardinality(v_order_sql) > 0 then 'order by ' || array_to_string(v_order_sql, ', ') else '' end,
    array_to_string(
      array(select format('%s as k%s', g, n - 1) from unnest(v_group_sql) with ordinality u(g, n))
      || array(select format('%s as m%s', m, n - 1) from unnest(v_metric_sql) with ordinality u(m, n)), ', '),
    format('select %s from public.client_data d where %s offset 0',
           array_to_string(array['d.id', 'd.created_at']
                           || array(select format('d.data -> %L as f%s', k, n) from unnest(v_read_keys) with ordinality u(k, n)), ', '),
           v_where),
    case when cardinality(v_group_sql) > 0
         then 'group by ' || (select string_agg(n::text, ', ') from generate_series(1, cardinality(v_group_sql)) n)
         else '' end,
    v_table.table_name);
end
$$;

revoke execute on function private.aggregate_sql(uuid, jsonb) from public;
grant execute on function private.aggregate_sql(uuid, jsonb) to authenticated, service_role;

create or replace function public.aggregate_client_data(p_client_id uuid, p_query jsonb)
  returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
  set work_mem = '64MB'
  set jit_above_cost = 50000
  set jit_inline_above_cost = -1
  set jit_optimize_above_cost = -1
as $$
declare
  v_answer jsonb;
begin
  perform private.query_check_client(p_client_id);
  execute private.aggregate_sql(p_client_id, p_query) into v_answer;
  return v_answer;
end
$$;
