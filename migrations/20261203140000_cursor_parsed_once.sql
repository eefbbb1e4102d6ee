-- The 90 %-deep cursor page (issue 10: within 1.2× page 1; it was 1.27×). Both pages are the
-- same index scan (~0.05 ms, the cursor's row comparison is its start key); what a call costs is
-- the compiling around the scan, and the deep page compiled more: private.query_order_sql built
-- the general "nulls first/last" condition key by key and then replaced it with the row
-- comparison, parsing the cursor's timestamp three times through private.query_timestamp (a SQL
-- function with SET search_path: never inlined, so its body is parsed again on every call,
-- ~0.08 ms each). The cursor part of query_order_sql took ~0.35 ms of CPU; now ~0.05 ms.
--
-- Design decision: the row-comparison case (only created_at and id, one direction) is decided
-- first and each of its values is checked and parsed once; created_at in the exact shape the
-- page writes it (to_jsonb of a timestamp, day at most 28) is cast directly, which cannot
-- raise, and every other spelling still goes through private.query_timestamp, so the accepted
-- cursors, the conditions and the errors are those of 20261201000200.

-- query_order_sql as in 20261201000200, with the cursor's row-comparison case first.
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
    p_order := '[{"field": "created_at", "dir": "asc"}]';
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

