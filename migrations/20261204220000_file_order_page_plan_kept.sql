-- Page 1 and every cursor page in file order (the reads a client makes most) run a statement
-- whose plan PostgreSQL keeps (issue 10: RLS on <= 1.1x off, a deep page <= 1.2x page 1).
-- query_client_data built that statement as text and ran it with EXECUTE, which plans it afresh on
-- every call; as the client, the row-level security policy's sub-selects are planned with it:
-- EXPLAIN ANALYZE on the 100,000-row bench client, planning 0.215-0.240 ms as authenticated
-- against 0.065-0.084 ms as service_role, for an execution of 0.19-0.29 ms. The new
-- private.query_file_order_page holds that statement as static SQL in PL/pgSQL, so after the
-- first calls of a session it runs a generic plan: the same index scan, no planning, and the
-- policy's sub-selects become init plans run once per call.
--
-- Page 1 is the cursor page after (-infinity, 0): every row comes after it (ids start at 1 and
-- created_at is never null), so both run one statement with a row comparison the btree starts
-- from, and a 90 %-deep page costs what page 1 does.
--
-- It is taken only where the dynamic statement would be exactly that one: a limit above 0, one
-- table, no filter and no search (so the where clause is the client and the table alone), the
-- whole rows, the order d.created_at asc, d.id asc (the default, or given as created_at), and a
-- cursor, if any, whose created_at is written as the cursor writes it. Everything else, and every
-- error, is query_client_data's as in 20261204190000 (pgTAP 35 compares the answers).

create or replace function private.query_file_order_page(p_client_id uuid, p_table text, p_fingerprint text,
                                                         p_after_at timestamptz, p_after_id bigint,
                                                         p_limit integer, p_offset integer,
                                                         out rows jsonb, out last jsonb, out more boolean)
  language plpgsql
  stable
  security invoker
  set search_path = ''
  -- The generic plan is the custom plan's index scan; left to choose, PostgreSQL keeps planning
  -- afresh, because a generic LIMIT $n is costed as 10 % of the rows.
  set plan_cache_mode = force_generic_plan
as $$
begin
  select coalesce(jsonb_agg(p.r order by p.n) filter (where p.n <= p_limit), '[]'::jsonb),
         (array_agg(p.o order by p.n) filter (where p.n = p_limit))[1],
         count(*) > p_limit
    into rows, last, more
    from (select s.r,
                 jsonb_build_object('o', jsonb_build_array(to_jsonb(s.created_at at time zone 'UTC')),
                                    'id', s.id, 'k', p_fingerprint) as o,
                 row_number() over () as n
            from (select jsonb_build_object('id', d.id, 'table_name', d.table_name,
                                            'created_at', d.created_at, 'data', d.data) as r,
                         d.created_at, d.id
                    from public.client_data d
                   where d.client_id = p_client_id and d.table_name = p_table
                     and (d.created_at, d.id) > (p_after_at, p_after_id)
                   order by d.created_at, d.id
                   limit p_limit + 1 offset p_offset) s) p;
end
$$;

revoke execute on function private.query_file_order_page(uuid, text, text, timestamptz, bigint, integer, integer) from public;
grant execute on function private.query_file_order_page(uuid, text, text, timestamptz, bigint, integer, integer) to authenticated, service_role;

-- query_client_data as in 20261204190000, with the file-order page through the function above.
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
  v_unfiltered boolean;
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

  v_unfiltered := coalesce(jsonb_typeof(v_query -> 'filter'), 'null') = 'null'
              and coalesce(jsonb_typeof(v_query -> 'q'), 'null') = 'null';
  v_needs_table := not v_unfiltered
                or coalesce(jsonb_typeof(v_query -> 'select'), 'null') <> 'null'
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
  elsif v_table.table_name is not null and v_data_sql = 'd.data'
        and v_unfiltered
        and v_order.order_sql = 'd.created_at asc nulls last, d.id asc'
        and (v_order.after_sql is null
             or (v_query -> 'after' -> 'o' ->> 0) ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?$') then
    -- File order with no filter: the statement with a kept plan. query_order_sql has checked
    -- the cursor; its created_at in ISO form casts to the value it checked.
    select p.rows, p.last, p.more into v_rows, v_last, v_more
      from private.query_file_order_page(
             p_client_id, v_table.table_name, v_order.fingerprint,
             case when v_order.after_sql is null then '-infinity'
                  else (v_query -> 'after' -> 'o' ->> 0)::timestamp at time zone 'UTC' end,
             case when v_order.after_sql is null then 0 else (v_query -> 'after' ->> 'id')::bigint end,
             v_limit, v_offset) p;
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
    if v_unfiltered then
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
