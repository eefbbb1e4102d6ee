-- The two reads a client makes most, cheaper in PostgreSQL (issue 10):
-- - a page of 0 rows (the Worker's /count: the total alone) no longer plans and runs the page
--   statement, whose answer is known ([] and no cursor): pgbench, 4,000 calls as the client on a
--   100,000-row client, 0.71 -> 0.25 ms. That statement was also most of the count's RLS cost:
--   the policies' sub-selects are planned again for every dynamic statement.
-- - the default order (no order given; page 1 and every cursor page after it) skips
--   private.query_order_sql's per-key loop (a private.query_field lookup and four jsonb/array
--   appends, ~85 us of the ~300 us of PL/pgSQL in a plain page, track_functions). A table with a
--   field named created_at still takes the loop, where that field is the key (as before).
-- Same answers and errors as before otherwise: the bodies are 20261203140000's query_order_sql and
-- 20261201000200's query_client_data with those two changes (pgTAP 34).

-- query_order_sql as in 20261203140000, with the default order set without the loop.
create or replace function private.query_order_sql(p_table text, p_columns jsonb, p_order jsonb, p_after jsonb,
                                                   out order_sql text, out values_sql text, out after_sql text,
                                                   out fingerprint text)
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_item record;
  v_field record;
  v_keys jsonb := '[]';
  v_dir text;
  v_nulls text;
  v_parts text[] := '{}';
  v_values text[] := '{}';
  v_key jsonb;
  v_id_dir text;
  v_after_o jsonb;
  v_val jsonb;
  v_lit text;
  v_after_i text;
  v_same_i text;
  v_simple boolean := true;
  v_i integer;
  v_cmp text;
  v_ts timestamp;
  v_text text;
  v_exprs text[] := '{}';
  v_lits text[] := '{}';
begin
  if p_order is null or jsonb_typeof(p_order) = 'null' then
    p_order := '[]';
  end if;
  if jsonb_typeof(p_order) <> 'array' or jsonb_array_length(p_order) > 10 then
    perform private.query_raise('invalid_query', 'order must be a list of at most 10 {field, dir, nulls}',
                                jsonb_build_object('path', 'order'));
  end if;
  if jsonb_array_length(p_order) = 0 then
    if not exists (select from jsonb_array_elements(coalesce(p_columns, '[]')) c
                    where lower(c ->> 'key') = 'created_at' or lower(c ->> 'name') = 'created_at') then
      -- The default order (file order) without the field lookups: what the loop below makes of
      -- [{"field": "created_at", "dir": "asc"}] when no field of the table is named created_at.
      v_keys := '[{"key": "created_at", "type": "created_at", "expr": "d.created_at", "dir": "asc", "nulls": "last"}]';
      v_parts := array['d.created_at asc nulls last'];
      v_values := array['to_jsonb(d.created_at at time zone ''UTC'')'];
      v_id_dir := 'asc';
    else
      -- A field named created_at is the key, as before.
      p_order := '[{"field": "created_at", "dir": "asc"}]';
    end if;
  end if;

  for v_item in select e.o, n - 1 as i from jsonb_array_elements(p_order) with ordinality e(o, n) loop
    if jsonb_typeof(v_item.o) <> 'object'
       or exists (select from jsonb_object_keys(v_item.o) k where k not in ('field', 'dir', 'nulls')) then
      perform private.query_raise('invalid_query', format('order[%s] must be {field, dir, nulls}', v_item.i),
                                  jsonb_build_object('path', format('order[%s]', v_item.i)));
    end if;
    select * into v_field from private.query_field(p_columns, v_item.o -> 'field', format('order[%s].field', v_item.i));
    v_dir := coalesce(lower(v_item.o ->> 'dir'), 'asc');
    v_nulls := lower(v_item.o ->> 'nulls');
    if v_dir not in ('asc', 'desc') or coalesce(v_nulls, 'first') not in ('first', 'last') then
      perform private.query_raise('invalid_query', format('order[%s]: dir is asc or desc, nulls first or last', v_item.i),
                                  jsonb_build_object('path', format('order[%s]', v_item.i)));
    end if;
    v_nulls := coalesce(v_nulls, case v_dir when 'asc' then 'last' else 'first' end);
    v_keys := v_keys || jsonb_build_object('key', v_field.key, 'type', v_field.type, 'expr', v_field.expr,
                                           'dir', v_dir, 'nulls', v_nulls);
    v_parts := v_parts || format('%s %s nulls %s', v_field.expr, v_dir, v_nulls);
    v_values := v_values || case when v_field.type = 'created_at' then 'to_jsonb(d.created_at at time zone ''UTC'')'
                                 else format('to_jsonb(%s)', v_field.expr) end;
    v_id_dir := coalesce(v_id_dir, v_dir);
    v_simple := v_simple and v_field.type in ('id', 'created_at') and v_dir = v_id_dir;
  end loop;

  order_sql := array_to_string(v_parts || format('d.id %s', v_id_dir), ', ');
  values_sql := format('jsonb_build_array(%s)', array_to_string(v_values, ', '));
  fingerprint := left(md5(coalesce(p_table, '') || '|' ||
                          (select string_agg(k ->> 'key' || ':' || (k ->> 'dir') || ':' || (k ->> 'nulls'), ',')
                             from jsonb_array_elements(v_keys) k)), 16);

  if p_after is null or jsonb_typeof(p_after) = 'null' then
    return;
  end if;
  v_after_o := p_after -> 'o';
  if jsonb_typeof(p_after) <> 'object' or p_after ->> 'k' is distinct from fingerprint
     or jsonb_typeof(v_after_o) is distinct from 'array' or jsonb_array_length(v_after_o) <> jsonb_array_length(v_keys)
     or jsonb_typeof(p_after -> 'id') is distinct from 'number' or (p_after ->> 'id') !~ '^\d{1,18}$'
     or exists (select from jsonb_object_keys(p_after) k where k not in ('o', 'id', 'k')) then
    perform private.query_raise('invalid_cursor', 'the cursor does not belong to this table and order',
                                '{}', 'start again without a cursor');
  end if;

  -- Only never-null keys (id, created_at) in one direction: the condition is a row comparison,
  -- which a btree index starts from. Each value is checked and parsed once, here, and nothing
  -- else is built: this is the deep page's whole extra work over page 1.
  if v_simple then
    for v_i in 0 .. jsonb_array_length(v_keys) - 1 loop
      v_key := v_keys -> v_i;
      v_val := v_after_o -> v_i;
      v_lit := null;
      if v_key ->> 'type' = 'id' then
        if jsonb_typeof(v_val) = 'number' and (v_val #>> '{}') ~ '^\d{1,18}$' then
          v_lit := format('%L::bigint', v_val #>> '{}');
        end if;
      elsif jsonb_typeof(v_val) = 'string' then
        -- created_at as the cursor writes it (to_jsonb of a timestamp) is cast directly: up to
        -- the 28th every day is a date of every month, so the cast cannot raise. Any other text
        -- goes through the full check of private.query_timestamp (a SQL function: parsed on
        -- every call, which is most of this loop's cost).
        v_text := v_val #>> '{}';
        v_ts := case when v_text ~ '^[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?$'
                     then v_text::timestamp
                     else private.query_timestamp(v_text) end;
        if v_ts is not null then
          v_lit := format('(%L::timestamp at time zone ''UTC'')', v_ts);
        end if;
      end if;
      if v_lit is null then
        perform private.query_raise('invalid_cursor', 'the cursor does not belong to this table and order',
                                    '{}', 'start again without a cursor');
      end if;
      v_exprs := v_exprs || (v_key ->> 'expr');
      v_lits := v_lits || v_lit;
    end loop;
    after_sql := format('((%s, d.id) %s (%s, %L::bigint))', array_to_string(v_exprs, ', '),
                        case v_id_dir when 'asc' then '>' else '<' end, array_to_string(v_lits, ', '),
                        p_after ->> 'id');
    return;
  end if;

  -- Any other order: (e1, …, en, id) strictly after the cursor, built from the last key to the
  -- first, with each key's nulls where its `nulls` puts them.
  after_sql := format('d.id %s %L::bigint', case v_id_dir when 'asc' then '>' else '<' end, p_after ->> 'id');
  for v_i in reverse jsonb_array_length(v_keys) - 1 .. 0 loop
    v_key := v_keys -> v_i;
    v_val := v_after_o -> v_i;
    v_lit := null;
    if jsonb_typeof(v_val) <> 'null' then
      v_lit := case
        when v_key ->> 'type' in ('integer', 'number') and jsonb_typeof(v_val) = 'number'
          then format('%L::numeric', v_val #>> '{}')
        when v_key ->> 'type' = 'id' and jsonb_typeof(v_val) = 'number' and (v_val #>> '{}') ~ '^\d{1,18}$'
          then format('%L::bigint', v_val #>> '{}')
        when v_key ->> 'type' = 'boolean' and jsonb_typeof(v_val) = 'boolean'
          then v_val #>> '{}'
        when v_key ->> 'type' in ('date', 'datetime') and jsonb_typeof(v_val) = 'string'
             and private.query_timestamp(v_val #>> '{}') is not null
          then format('%L::timestamp', private.query_timestamp(v_val #>> '{}'))
        when v_key ->> 'type' = 'created_at' and jsonb_typeof(v_val) = 'string'
             and private.query_timestamp(v_val #>> '{}') is not null
          then format('(%L::timestamp at time zone ''UTC'')', private.query_timestamp(v_val #>> '{}'))
        when v_key ->> 'type' not in ('integer', 'number', 'id', 'boolean', 'date', 'datetime', 'created_at')
             and jsonb_typeof(v_val) = 'string'
          then format('%L::text', v_val #>> '{}')
      end;
      if v_lit is null then
        perform private.query_raise('invalid_cursor', 'the cursor does not belong to this table and order',
                                    '{}', 'start again without a cursor');
      end if;
    end if;
    if v_lit is null and v_key ->> 'type' in ('id', 'created_at') then
      perform private.query_raise('invalid_cursor', 'the cursor does not belong to this table and order',
                                  '{}', 'start again without a cursor');
    end if;
    v_cmp := case v_key ->> 'dir' when 'asc' then '>' else '<' end;
    if v_lit is null then
      v_same_i := format('%s is null', v_key ->> 'expr');
      v_after_i := case v_key ->> 'nulls' when 'first' then format('%s is not null', v_key ->> 'expr') end;
    else
      v_same_i := format('%s = %s', v_key ->> 'expr', v_lit);
      v_after_i := case v_key ->> 'nulls'
        when 'last' then format('(%s %s %s or %s is null)', v_key ->> 'expr', v_cmp, v_lit, v_key ->> 'expr')
        else format('%s %s %s', v_key ->> 'expr', v_cmp, v_lit) end;
    end if;
    after_sql := case when v_after_i is null then format('(%s and %s)', v_same_i, after_sql)
                      else format('(%s or (%s and %s))', v_after_i, v_same_i, after_sql) end;
  end loop;

end
$$;

-- query_client_data as in 20261201000200, with no page statement for a page of 0 rows.
create or replace function public.query_client_data(p_client_id uuid, p_query jsonb default '{}')
  returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_query jsonb := coalesce(p_query, '{}');
  v_table record;
  v_needs_table boolean;
  v_limit integer := 100;
  v_offset integer := 0;
  v_where text;
  v_order record;
  v_data_sql text := 'd.data';
  v_keys text[] := '{}';
  v_chunks text[] := '{}';
  v_field record;
  v_item record;
  v_rows jsonb;
  v_last jsonb;
  v_more boolean;
  v_next jsonb;
  v_total bigint;
  v_count text;
begin
  perform private.query_check_client(p_client_id);
  if jsonb_typeof(v_query) <> 'object' then
    perform private.query_raise('invalid_query', 'the query must be a JSON object', jsonb_build_object('path', ''));
  end if;
  select k into v_count from jsonb_object_keys(v_query) k
   where k not in ('table', 'filter', 'order', 'select', 'limit', 'offset', 'after', 'count', 'q') limit 1;
  if v_count is not null then
    perform private.query_raise('invalid_query', format('unknown query key %s', v_count),
                                jsonb_build_object('path', v_count));
  end if;

  if v_query ? 'limit' and jsonb_typeof(v_query -> 'limit') <> 'null' then
    if jsonb_typeof(v_query -> 'limit') <> 'number' or (v_query ->> 'limit') !~ '^\d{1,4}$'
       or (v_query ->> 'limit')::int > 1000 then
      perform private.query_raise('invalid_query', 'limit must be an integer from 0 to 1000',
                                  jsonb_build_object('path', 'limit'));
    end if;
    v_limit := (v_query ->> 'limit')::int;
  end if;
  if v_query ? 'offset' and jsonb_typeof(v_query -> 'offset') <> 'null' then
    if jsonb_typeof(v_query -> 'offset') <> 'number' or (v_query ->> 'offset') !~ '^\d{1,5}$'
       or (v_query ->> 'offset')::int > 10000 then
      perform private.query_raise('invalid_query', 'offset must be an integer from 0 to 10000; page deeper with the cursor',
                                  jsonb_build_object('path', 'offset'));
    end if;
    v_offset := (v_query ->> 'offset')::int;
  end if;
  v_count := v_query ->> 'count';
  if v_count is not null and v_count not in ('exact', 'estimated') then
    perform private.query_raise('invalid_query', 'count is exact or estimated', jsonb_build_object('path', 'count'));
  end if;

  v_needs_table := coalesce(jsonb_typeof(v_query -> 'filter'), 'null') <> 'null'
                or coalesce(jsonb_typeof(v_query -> 'select'), 'null') <> 'null'
                or coalesce(jsonb_typeof(v_query -> 'q'), 'null') <> 'null'
                or (jsonb_typeof(v_query -> 'order') = 'array'
                    and exists (select from jsonb_array_elements(v_query -> 'order') o
                                 where lower(o ->> 'field') is distinct from 'id'
                                   and lower(o ->> 'field') is distinct from 'created_at'));
  select * into v_table from private.query_resolve_table(p_client_id, v_query -> 'table', v_needs_table);

  v_where := private.query_where_sql(p_client_id, v_table.table_name, v_table.columns,
                                     v_query -> 'filter', v_query -> 'q');
  select * into v_order from private.query_order_sql(v_table.table_name, v_table.columns,
                                                      v_query -> 'order', v_query -> 'after');

  if coalesce(jsonb_typeof(v_query -> 'select'), 'null') <> 'null' then
    if jsonb_typeof(v_query -> 'select') <> 'array' or jsonb_array_length(v_query -> 'select') > 200 then
      perform private.query_raise('invalid_query', 'select must be a list of at most 200 fields',
                                  jsonb_build_object('path', 'select'));
    end if;
    for v_item in select e.f, n - 1 as i from jsonb_array_elements(v_query -> 'select') with ordinality e(f, n) loop
      select * into v_field from private.query_field(v_table.columns, v_item.f, format('select[%s]', v_item.i));
      if v_field.type not in ('id', 'created_at') and not v_field.key = any (v_keys) then
        v_keys := v_keys || v_field.key;
      end if;
    end loop;
    -- jsonb_build_object takes at most 100 arguments: 40 pairs per call, concatenated.
    select coalesce(array_agg(c order by g), '{}') into v_chunks
      from (select (n - 1) / 40 as g,
                   format('jsonb_build_object(%s)', string_agg(format('%1$L, d.data -> %1$L', k), ', ' order by n)) as c
              from unnest(v_keys) with ordinality u(k, n) group by 1) s;
    v_data_sql := case when cardinality(v_chunks) = 0 then '''{}''::jsonb' else array_to_string(v_chunks, ' || ') end;
  end if;

  -- A page of 0 rows (what /count asks for) runs no page statement: its answer is known.
  if v_limit = 0 then
    v_rows := '[]';
    v_more := false;
  else
    execute format(
      'select coalesce(jsonb_agg(p.r order by p.n) filter (where p.n <= %1$s), ''[]''::jsonb),'
      '       (array_agg(p.o order by p.n) filter (where p.n = %1$s))[1],'
      '       count(*) > %1$s'
      '  from (select s.r, jsonb_build_object(''o'', s.o, ''id'', s.id, ''k'', %2$L) as o,'
      '               row_number() over () as n'
      '          from (select jsonb_build_object(''id'', d.id, ''table_name'', d.table_name,'
      '                                          ''created_at'', d.created_at, ''data'', %3$s) as r,'
      '                       %4$s as o, d.id'
      '                  from public.client_data d'
      '                 where %5$s%6$s'
      '                 order by %7$s'
      '                 limit %8$s offset %9$s) s) p',
      v_limit, v_order.fingerprint, v_data_sql, v_order.values_sql, v_where,
      case when v_order.after_sql is not null then ' and ' || v_order.after_sql else '' end,
      v_order.order_sql, v_limit + 1, v_offset)
      into v_rows, v_last, v_more;
  end if;
  v_next := case when v_more then v_last end;

  if v_count = 'exact' or v_count = 'estimated' then
    if coalesce(jsonb_typeof(v_query -> 'filter'), 'null') = 'null' and coalesce(jsonb_typeof(v_query -> 'q'), 'null') = 'null' then
      -- Kept true by the client_data triggers: no scan of the client's rows.
      select coalesce(sum(s.row_count), 0) into v_total from public.client_schemas s
       where s.client_id = p_client_id and (v_table.table_name is null or s.table_name = v_table.table_name);
    elsif v_count = 'exact' then
      execute format('select count(*) from public.client_data d where %s', v_where) into v_total;
    else
      v_total := private.query_estimate_rows(v_where);
    end if;
  end if;

  return jsonb_build_object('table', v_table.table_name, 'rows', v_rows, 'next', v_next,
                            'total', v_total, 'total_kind', v_count);
end
$$;

revoke execute on function public.query_client_data(uuid, jsonb) from public, anon;
grant execute on function public.query_client_data(uuid, jsonb) to authenticated, service_role;
