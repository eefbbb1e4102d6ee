-- On-demand per-field indexes for large tables (issue 10, "fast at scale"): a registry of the
-- fields a (client, table) is filtered or sorted by, the typed values that make those filters
-- index conditions under RLS, and the job that builds both.
--
-- Design decision: filters are served by a side table of plain typed columns, not by expression
-- or GIN indexes on client_data. With RLS on (every client read: the functions are security
-- invoker), PostgreSQL evaluates the policy's quals before any qual of the query that is not
-- leakproof, and may only use such a qual as an index condition if it is leakproof. No jsonb
-- operator is (`->`, `->>`, `@>`, jsonb_eq, and numeric_eq neither: see pg_proc.proleakproof),
-- so `data @> '{"code":"c42"}'` or `(data->>'code') = 'c42'` can never be an index condition for
-- `authenticated`, whatever index exists: the planner walks the client's whole range (measured:
-- 700 ms for a 0.01 % filter on 1 million rows). float8, text, bigint and uuid comparisons are
-- leakproof, so `client_data_field_values (client_id, table_name, field, num, txt)` is searched
-- by index under RLS, and the compiled query joins it by id as an EXISTS semi-join.
-- Ordering is not a qual, so a sort needs no leakproof operator: a partial expression index on
-- client_data over the compiler's canonical typed expression (private.query_field) serves
-- `order by field limit n` as an ordered index scan.
--
-- Index budget and write cost:
--  * at most 8 indexed fields per table, 16 per client;
--  * at most 2 sorted fields per table and 64 sort indexes in the database: each one is a
--    partial index on the shared client_data, so every insert of every client evaluates its
--    predicate and every plan considers it;
--  * per indexed field, each inserted row adds one client_data_field_values row (about 60 bytes
--    plus its 2 index entries), written by the statement-level trigger below in one INSERT per
--    statement; a table without indexed fields pays one empty join per statement.
--    Measured with `cargo xtask bench --scale` (docs/QUERY.md).
--
-- Building: CREATE INDEX CONCURRENTLY cannot run inside a function or a transaction, and only the
-- table's owner may create indexes on it. So maintain_client_data_indexes() (service_role, run
-- by the scheduled job) does what a function can: it fills client_data_field_values for newly
-- requested fields, waiting like CREATE INDEX CONCURRENTLY for transactions that might have
-- inserted rows before the trigger saw the request; and it returns the DDL (sort indexes to
-- create, invalid or unrequested ones to drop), which the owner's connection runs one statement
-- at a time (`cargo xtask bench --scale` does; in production a psql loop as postgres).

-- ---- Registry ----
create table public.client_data_field_indexes (
  client_id  uuid not null references public.clients (client_id) on delete cascade,
  table_name private.table_name not null,
  field      text not null,
  -- The column's type when requested: values are stored typed by it, and a filter uses them
  -- only while the table's schema still gives the column this type.
  value_type text not null,
  sorted     boolean not null default false,
  -- building → ready once every row has its values (see maintain_client_data_indexes).
  state      text not null default 'building' check (state in ('building', 'ready')),
  -- The transactions older than this had to end before the backfill may run.
  wait_for   xid8,
  requested_at timestamptz not null default now(),
  ready_at   timestamptz,
  constraint client_data_field_indexes_pkey primary key (client_id, table_name, field)
);

alter table public.client_data_field_indexes enable row level security;

-- A client may see which of its fields are indexed (the compiler reads this as the caller);
-- only service_role (which bypasses RLS) requests, drops and builds.
create policy client_data_field_indexes_select_own on public.client_data_field_indexes
  for select to authenticated
  using (client_id = (select c.client_id from public.clients c
                      where c.auth_user_id = (select auth.uid())));

grant select on table public.client_data_field_indexes to authenticated;
grant select, insert, update, delete on table public.client_data_field_indexes to service_role;

-- ---- Typed values ----
-- One row per (data row, indexed field) whose value fits the field's type. num: numbers,
-- booleans (0/1) and dates/datetimes (epoch seconds) as float8; txt: the first 200 characters of
-- a text-like field. Both are monotonic images of the typed value, so an index condition on
-- them selects a superset of the matching rows, and the compiled query keeps the exact typed
-- comparison on client_data as the recheck.
create table public.client_data_field_values (
  client_id  uuid not null,
  table_name private.table_name not null,
  field      text not null,
  row_id     bigint not null,
  num        double precision,
  txt        text,
  constraint client_data_field_values_pkey primary key (client_id, row_id, field)
);

-- For a text field num is NULL, so `num is null and txt = …` is a prefix of this index too;
-- row_id is included so the semi-join reads no heap page of this table.
create index client_data_field_values_search
  on public.client_data_field_values (client_id, table_name, field, num, txt) include (row_id);

alter table public.client_data_field_values enable row level security;

create policy client_data_field_values_select_own on public.client_data_field_values
  for select to authenticated
  using (client_id = (select c.client_id from public.clients c
                      where c.auth_user_id = (select auth.uid())));

grant select on table public.client_data_field_values to authenticated;
grant select, insert, delete on table public.client_data_field_values to service_role;

-- A number as a float8 that never raises and keeps the order (non-decreasing): beyond float8's
-- range → ±Infinity, below its precision → 0.
create function private.field_index_float(p_value numeric)
  returns double precision
  language sql
  immutable
  strict
  parallel safe
  set search_path = ''
as $$
  select case when p_value > 1e308 then 'Infinity'::float8
              when p_value < -1e308 then '-Infinity'::float8
              when abs(p_value) < 1e-300 then 0::float8
              else p_value::float8 end
$$;

-- Keeps client_data_field_values equal to client_data for every registered field.
-- SECURITY DEFINER, like the counts trigger: the values are derived data that no API role may
-- write (a forged value would make a filter find or miss rows), so this function, owned by the
-- migration owner, is the only writer besides the service_role backfill. Not granted to anyone:
-- it only runs as a trigger, for the rows of the statement at hand.
create function private.sync_client_data_field_values()
  returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  if tg_op in ('DELETE', 'UPDATE') then
    delete from public.client_data_field_values v
     using old_rows o
     where v.client_id = o.client_id and v.row_id = o.id;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into public.client_data_field_values (client_id, table_name, field, row_id, num, txt)
    select n.client_id, n.table_name, i.field, n.id, x.num, x.txt
      from new_rows n
      join public.client_data_field_indexes i on i.client_id = n.client_id and i.table_name = n.table_name
      cross join lateral (select
        -- the same typing as private.query_field; a value that does not fit gets no row
        case when i.value_type in ('integer', 'number') and jsonb_typeof(n.data -> i.field) = 'number'
               then private.field_index_float((n.data -> i.field)::numeric)
             when i.value_type = 'boolean' and jsonb_typeof(n.data -> i.field) = 'boolean'
               then case when (n.data -> i.field)::boolean then 1 else 0 end
             when i.value_type in ('date', 'datetime')
               then extract(epoch from private.query_timestamp(n.data ->> i.field))::float8 end as num,
        case when i.value_type not in ('integer', 'number', 'boolean', 'date', 'datetime')
               then left(n.data ->> i.field, 200) end as txt) x
     where x.num is not null or x.txt is not null
    on conflict do nothing;
  end if;
  if tg_op = 'TRUNCATE' then
    truncate public.client_data_field_values;
  end if;
  return null;
end
$$;

create trigger client_data_field_values_insert
  after insert on public.client_data
  referencing new table as new_rows
  for each statement execute function private.sync_client_data_field_values();

create trigger client_data_field_values_delete
  after delete on public.client_data
  referencing old table as old_rows
  for each statement execute function private.sync_client_data_field_values();

create trigger client_data_field_values_update
  after update on public.client_data
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.sync_client_data_field_values();

create trigger client_data_field_values_truncate
  after truncate on public.client_data
  for each statement execute function private.sync_client_data_field_values();

-- The name of a field's sort index: derived, so maintain finds the ones nobody requested.
create function private.field_index_name(p_client_id uuid, p_table_name text, p_field text)
  returns text
  language sql
  immutable
  set search_path = ''
as $$
  select 'client_data_sort_' || left(md5(p_client_id::text || '|' || p_table_name || '|' || p_field), 20)
$$;

-- ---- Service-role functions ----
-- Requests an index on a field (a stored key or header text, as the query language names it).
-- Returns the registry row. 22023 for a field the table does not have or a budget exceeded.
create function public.request_client_data_index(p_client_id uuid, p_table_name text, p_field text,
                                                 p_sorted boolean default false)
  returns jsonb
  language plpgsql
  security invoker
  set search_path = ''
as $$
declare
  v_columns jsonb;
  v_field record;
  v_row public.client_data_field_indexes;
begin
  perform private.query_check_client(p_client_id);
  perform private.check_table_name(p_table_name);
  select private.query_columns(s.schema_def) into v_columns
    from public.client_schemas s where s.client_id = p_client_id and s.table_name = p_table_name;
  if v_columns is null then
    raise exception using errcode = 'PT404', message = format('client %s has no table %s', p_client_id, p_table_name),
      detail = jsonb_build_object('code', 'table_not_found')::text;
  end if;
  select * into v_field from private.query_field(v_columns, to_jsonb(p_field), 'field');
  if v_field.type in ('id', 'created_at') then
    raise exception using errcode = '22023', message = format('%s is always indexed', v_field.key);
  end if;
  -- One request at a time per client, so the budgets hold under concurrent requests.
  perform pg_advisory_xact_lock(hashtextextended('client_data_field_indexes|' || p_client_id::text, 0));
  if not exists (select from public.client_data_field_indexes i
                  where i.client_id = p_client_id and i.table_name = p_table_name and i.field = v_field.key) then
    if (select count(*) from public.client_data_field_indexes i
         where i.client_id = p_client_id and i.table_name = p_table_name) >= 8
       or (select count(*) from public.client_data_field_indexes i where i.client_id = p_client_id) >= 16 then
      raise exception using errcode = '22023',
        message = 'index budget exceeded: at most 8 indexed fields per table and 16 per client',
        hint = 'drop one with drop_client_data_index';
    end if;
  end if;
  if coalesce(p_sorted, false)
     and (select count(*) from public.client_data_field_indexes i
           where i.client_id = p_client_id and i.table_name = p_table_name and i.sorted and i.field <> v_field.key) >= 2 then
    raise exception using errcode = '22023', message = 'sort index budget exceeded: at most 2 sorted fields per table';
  end if;
  if coalesce(p_sorted, false)
     and (select count(*) from public.client_data_field_indexes i where i.sorted) >= 64
     and not exists (select from public.client_data_field_indexes i
                      where i.client_id = p_client_id and i.table_name = p_table_name and i.field = v_field.key and i.sorted) then
    raise exception using errcode = '22023', message = 'sort index budget exceeded: at most 64 sort indexes in the database';
  end if;

  -- A new request, or one whose column changed type, (re)builds from scratch.
  delete from public.client_data_field_indexes i
   where i.client_id = p_client_id and i.table_name = p_table_name and i.field = v_field.key
     and i.value_type <> v_field.type;
  delete from public.client_data_field_values v
   where v.client_id = p_client_id and v.table_name = p_table_name and v.field = v_field.key
     and not exists (select from public.client_data_field_indexes i
                      where i.client_id = p_client_id and i.table_name = p_table_name and i.field = v_field.key);
  insert into public.client_data_field_indexes as i (client_id, table_name, field, value_type, sorted)
  values (p_client_id, p_table_name, v_field.key, v_field.type, coalesce(p_sorted, false))
  on conflict (client_id, table_name, field) do update set sorted = i.sorted or excluded.sorted
  returning * into v_row;
  return to_jsonb(v_row);
end
$$;

-- Drops a field's index: the values now; its sort index is dropped by the next maintenance run.
create function public.drop_client_data_index(p_client_id uuid, p_table_name text, p_field text)
  returns boolean
  language plpgsql
  security invoker
  set search_path = ''
as $$
declare
  v_found boolean;
begin
  perform private.query_check_client(p_client_id);
  delete from public.client_data_field_indexes i
   where i.client_id = p_client_id and i.table_name = p_table_name and i.field = p_field;
  v_found := found;
  delete from public.client_data_field_values v
   where v.client_id = p_client_id and v.table_name = p_table_name and v.field = p_field;
  return v_found;
end
$$;

-- One maintenance step, for the scheduled job: call it until `pending` is 0, then run `ddl` as
-- the owner of client_data, one statement at a time (each is CONCURRENTLY: no write lock).
-- For each field still building: the first call records the newest transaction id that could
-- have inserted rows without seeing the request; once every transaction up to it has ended, the
-- backfill inserts the values of every existing row (the trigger has written the newer ones) and
-- the field is ready, so a filter never uses an index that misses rows.
-- Returns {ready: [...], pending: n, ddl: [...]}.
create function public.maintain_client_data_indexes()
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_index public.client_data_field_indexes;
  v_ready jsonb := '[]';
  v_pending integer := 0;
  v_ddl jsonb := '[]';
  v_columns jsonb;
  v_field record;
  v_name text;
  v_valid boolean;
begin
  for v_index in select * from public.client_data_field_indexes i where i.state = 'building'
                  order by i.requested_at for update skip locked loop
    if v_index.wait_for is null then
      update public.client_data_field_indexes i set wait_for = pg_snapshot_xmax(pg_current_snapshot())
       where i.client_id = v_index.client_id and i.table_name = v_index.table_name and i.field = v_index.field
       returning * into v_index;
    end if;
    if pg_snapshot_xmin(pg_current_snapshot()) < v_index.wait_for then
      v_pending := v_pending + 1;
      continue;
    end if;
    -- The trigger's INSERT, for the table's existing rows.
    insert into public.client_data_field_values (client_id, table_name, field, row_id, num, txt)
    select d.client_id, d.table_name, v_index.field, d.id, x.num, x.txt
      from public.client_data d
      cross join lateral (select
        case when v_index.value_type in ('integer', 'number') and jsonb_typeof(d.data -> v_index.field) = 'number'
               then private.field_index_float((d.data -> v_index.field)::numeric)
             when v_index.value_type = 'boolean' and jsonb_typeof(d.data -> v_index.field) = 'boolean'
               then case when (d.data -> v_index.field)::boolean then 1 else 0 end
             when v_index.value_type in ('date', 'datetime')
               then extract(epoch from private.query_timestamp(d.data ->> v_index.field))::float8 end as num,
        case when v_index.value_type not in ('integer', 'number', 'boolean', 'date', 'datetime')
               then left(d.data ->> v_index.field, 200) end as txt) x
     where d.client_id = v_index.client_id and d.table_name = v_index.table_name
       and (x.num is not null or x.txt is not null)
    on conflict do nothing;
    update public.client_data_field_indexes i set state = 'ready', ready_at = now()
     where i.client_id = v_index.client_id and i.table_name = v_index.table_name and i.field = v_index.field;
    v_ready := v_ready || jsonb_build_object('client_id', v_index.client_id, 'table_name', v_index.table_name,
                                             'field', v_index.field);
  end loop;

  -- Sort indexes: one per sorted field, over the exact expression the compiler orders by.
  for v_index in select * from public.client_data_field_indexes i where i.sorted order by i.requested_at loop
    v_name := private.field_index_name(v_index.client_id, v_index.table_name, v_index.field);
    select x.indisvalid into v_valid
      from pg_catalog.pg_class c join pg_catalog.pg_index x on x.indexrelid = c.oid
     where c.relname = v_name and c.relnamespace = 'public'::regnamespace;
    if v_valid is not null and not v_valid then
      v_ddl := v_ddl || to_jsonb(format('drop index concurrently if exists public.%I', v_name));
    end if;
    if v_valid is null or not v_valid then
      select private.query_columns(s.schema_def) into v_columns
        from public.client_schemas s where s.client_id = v_index.client_id and s.table_name = v_index.table_name;
      select * into v_field from private.query_field(v_columns, to_jsonb(v_index.field), 'field');
      v_ddl := v_ddl || to_jsonb(format(
        'create index concurrently if not exists %I on public.client_data (%s, id) where client_id = %L::uuid and table_name = %L',
        v_name, replace(v_field.expr, 'd.data', 'data'), v_index.client_id, v_index.table_name));
    end if;
  end loop;
  -- Sort indexes nobody requests any more.
  v_ddl := v_ddl || coalesce((
    select jsonb_agg(format('drop index concurrently if exists public.%I', c.relname) order by c.relname)
      from pg_catalog.pg_index x join pg_catalog.pg_class c on c.oid = x.indexrelid
     where x.indrelid = 'public.client_data'::regclass and c.relname like 'client\_data\_sort\_%'
       and not exists (select from public.client_data_field_indexes i
                        where i.sorted and private.field_index_name(i.client_id, i.table_name, i.field) = c.relname)), '[]');

  return jsonb_build_object('ready', v_ready, 'pending', v_pending, 'ddl', v_ddl);
end
$$;

revoke execute on function public.request_client_data_index(uuid, text, text, boolean) from public, anon, authenticated;
revoke execute on function public.drop_client_data_index(uuid, text, text) from public, anon, authenticated;
revoke execute on function public.maintain_client_data_indexes() from public, anon, authenticated;
grant execute on function public.request_client_data_index(uuid, text, text, boolean) to service_role;
grant execute on function public.drop_client_data_index(uuid, text, text) to service_role;
grant execute on function public.maintain_client_data_indexes() to service_role;

-- ---- The compiler uses the values ----
-- For each condition of the filter's top-level AND on a ready indexed field (the column's type
-- unchanged since the request), an EXISTS on client_data_field_values that selects a superset of
-- its rows by index: numbers/dates/booleans for eq, in, gt, gte, lt, lte (strict bounds widened
-- to inclusive: float8 may round two numbers to one value), text for eq and in. Conditions
-- under `or`/`not`, like, is and neq stay as they are. Empty when nothing applies.
create function private.query_index_sql(p_client_id uuid, p_table text, p_columns jsonb, p_filter jsonb)
  returns text
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_leaf jsonb;
  v_field record;
  v_value record;
  v_op text;
  v_vals text[];
  v_item jsonb;
  v_cond text;
  v_sql text;
  v_indexed jsonb;
  v_conds jsonb := '{}';
  v_rows bigint;
  v_threshold integer;
  v_matches integer;
begin
  if p_table is null or p_filter is null or jsonb_typeof(p_filter) <> 'object' then
    return '';
  end if;
  select jsonb_object_agg(i.field, i.value_type) into v_indexed
    from public.client_data_field_indexes i
   where i.client_id = p_client_id and i.table_name = p_table and i.state = 'ready';
  if v_indexed is null then
    return '';
  end if;
  for v_leaf in select e from jsonb_array_elements(case when p_filter ? 'and' and jsonb_typeof(p_filter -> 'and') = 'array'
                                                        then p_filter -> 'and' else jsonb_build_array(p_filter) end) e loop
    if jsonb_typeof(v_leaf) <> 'object' or not v_leaf ? 'field' then
      continue;
    end if;
    -- The filter itself was compiled (and checked) first, so this cannot raise.
    select * into v_field from private.query_field(p_columns, v_leaf -> 'field', 'filter');
    v_op := v_leaf ->> 'op';
    if v_indexed ->> v_field.key is distinct from v_field.type
       or v_op not in ('eq', 'in', 'gt', 'gte', 'lt', 'lte') then
      continue;
    end if;
    v_vals := '{}';
    for v_item in select e from jsonb_array_elements(case when v_op = 'in' then v_leaf -> 'value'
                                                          else jsonb_build_array(v_leaf -> 'value') end) e loop
      select * into v_value from private.query_value(v_field.key, v_field.type, v_item, 'filter');
      v_vals := v_vals || case
        when v_field.type not in ('integer', 'number', 'boolean', 'date', 'datetime') then format('%L', left(v_item #>> '{}', 200))
        when v_field.type in ('integer', 'number') then format('%L::float8', private.field_index_float((v_value.json #>> '{}')::numeric))
        when v_field.type = 'boolean' then case when (v_value.json)::boolean then '1::float8' else '0::float8' end
        else format('%L::float8', extract(epoch from (v_value.json #>> '{}')::timestamp)::float8) end;
    end loop;
    v_cond := case
      when v_field.type not in ('integer', 'number', 'boolean', 'date', 'datetime') and v_op = 'eq' then format('v.num is null and v.txt = %s', v_vals[1])
      when v_field.type not in ('integer', 'number', 'boolean', 'date', 'datetime') and v_op = 'in' and cardinality(v_vals) > 0
        then format('v.num is null and v.txt = any (array[%s]::text[])', array_to_string(v_vals, ', '))
      when v_field.type not in ('integer', 'number', 'boolean', 'date', 'datetime') then null
      when v_op = 'eq' then format('v.num = %s', v_vals[1])
      when v_op = 'in' and cardinality(v_vals) > 0 then format('v.num = any (array[%s])', array_to_string(v_vals, ', '))
      when v_op in ('gt', 'gte') then format('v.num >= %s', v_vals[1])
      when v_op in ('lt', 'lte') then format('v.num <= %s', v_vals[1])
    end;
    if v_cond is not null then
      v_conds := jsonb_set(v_conds, array[v_field.key], coalesce(v_conds -> v_field.key, '[]') || to_jsonb(v_cond));
    end if;
  end loop;
  -- One EXISTS per field, so `price >= 100` and `price < 110` are one range of the index; and
  -- only for a field whose condition matches few rows. Fetching M matches by id costs about
  -- 8x as much per row as walking the table in page order, which needs limit x rows / M rows
  -- to fill a page: the walk wins past M = sqrt(12 x rows) for a page of 100 (measured, 1M rows:
  -- 0.01 % → the index, 1 % → the walk). Counting at most that many index entries is cheap.
  select s.row_count into v_rows from public.client_schemas s
   where s.client_id = p_client_id and s.table_name = p_table;
  v_threshold := greatest(1000, ceil(sqrt(12.0 * coalesce(v_rows, 0))))::integer;
  v_sql := '';
  for v_item in select to_jsonb(c) from jsonb_each(v_conds) c order by c.key loop
    v_cond := format('v.client_id = %L::uuid and v.table_name = %L and v.field = %L and %s',
                     p_client_id, p_table, v_item ->> 'key',
                     (select string_agg(x #>> '{}', ' and ') from jsonb_array_elements(v_item -> 'value') x));
    execute format('select count(*) from (select from public.client_data_field_values v where %s limit %s) m',
                   v_cond, v_threshold + 1) into v_matches;
    if v_matches <= v_threshold then
      v_sql := v_sql || format(' and exists (select from public.client_data_field_values v where %s and v.row_id = d.id)',
                               v_cond);
    end if;
  end loop;
  return v_sql;
end
$$;

-- query_where_sql as in 20261201000100, plus the index conditions. Stable now: it reads the
-- registry.
create or replace function private.query_where_sql(p_client_id uuid, p_table text, p_columns jsonb,
                                                   p_filter jsonb, p_q jsonb)
  returns text
  language plpgsql
  stable
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
    v_sql := v_sql || ' and ' || v_filter.sql || private.query_index_sql(p_client_id, p_table, p_columns, p_filter);
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
    'private.field_index_float(numeric)', 'private.field_index_name(uuid, text, text)',
    'private.query_index_sql(uuid, text, jsonb, jsonb)']
  loop
    execute format('revoke execute on function %s from public', v_fn);
    execute format('grant execute on function %s to authenticated, service_role', v_fn);
  end loop;
end
$$;
revoke execute on function private.sync_client_data_field_values() from public;
