-- Limits and shapes in the database (issue 9): a client's login token works straight against
-- PostgREST (its functions, and the tables it may write), so what the Worker refuses the
-- database refuses too, in the functions (with a message that names the row, column or field)
-- and, where a table can be written directly, in the table (a check constraint).
--
-- The limits, the same as the Worker's where it has one (crates/ingest IngestOptions):
--   a cell (one value of a row)            at most 65,536 bytes (strings: their UTF-8 text;
--                                          other JSON values: their JSON text)
--   columns (keys) in a row                at most 512
--   schema_def                             the documented shape (crates/ingest/src/schema.rs),
--                                          at most 4 MiB, at most 512 columns; its row_count is
--                                          the database's, never the caller's
--   rows staged by one upload              at most 2,000,000 (the Worker's max_rows)
--   bytes staged by one upload             at most 1 GiB of row JSON (jsonb size of the batches)
--   pending uploads per client             at most 4 active at a time (idle for an hour: not
--                                          counted, and removed by cleanup_abandoned_uploads)

-- ---- Rows: cells and columns ----

-- A cell's size as the Worker measures it: a string's text, anything else as JSON text.
create function private.cell_bytes(p_value jsonb)
  returns integer
  language sql
  immutable
  set search_path = ''
as $$
  select octet_length(case jsonb_typeof(p_value) when 'string' then p_value #>> '{}' else p_value::text end)
$$;

-- Whether a row object keeps the cell and column limits. Most rows are small: a row of at most
-- 4,000 bytes (uncompressed) can hold neither a cell over 64 KiB nor over 512 keys (each key
-- and value take 8 bytes of jsonb headers at least, so 513 pairs need 4,104), so only larger
-- rows pay for looking at every key. Measured on 100,000 typical 10-column rows: ~3 µs per row
-- (plpgsql; the same test as a SQL function took ~11 µs, as it is never inlined).
-- Non-objects pass: the jsonb_typeof checks refuse those with their own message.
create function private.row_within_limits(p_row jsonb)
  returns boolean
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if jsonb_typeof(p_row) is distinct from 'object'
     or (pg_catalog.pg_column_compression(p_row) is null and pg_catalog.pg_column_size(p_row) <= 4000) then
    return true;
  end if;
  return (select count(*) from jsonb_object_keys(p_row)) <= 512
     and not exists (select from jsonb_each(p_row) c where private.cell_bytes(c.value) > 65536);
end
$$;

grant execute on function private.row_within_limits(jsonb), private.cell_bytes(jsonb)
  to authenticated, service_role;

-- A client may insert its own rows straight into client_data (RLS keeps it to its own), so the
-- table keeps the limits itself; the functions check first, to say which row and column.
alter table public.client_data
  add constraint client_data_row_limits check (private.row_within_limits(data));

-- The rows every function stores (create_client_with_data, append_client_data,
-- stage_upload_rows): a JSON array of objects within the limits. The first offending row is
-- named by its index in the array, and with p_rows_before (rows an upload staged in earlier
-- batches) by its row in the whole upload (detail).
create or replace function private.check_rows(p_rows jsonb, p_rows_before bigint default null)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_bad record;
  v_cell record;
  v_columns bigint;
  v_message text;
begin
  perform private.check_rows_array(p_rows);
  select e.ord - 1 as idx, e.value into v_bad
    from jsonb_array_elements(p_rows) with ordinality e(value, ord)
   where jsonb_typeof(e.value) <> 'object' or not private.row_within_limits(e.value)
   order by e.ord
   limit 1;
  if not found then
    return;
  end if;

  if jsonb_typeof(v_bad.value) <> 'object' then
    v_message := format('rows[%s] is a JSON %s; every row must be a JSON object',
                        v_bad.idx, jsonb_typeof(v_bad.value));
  else
    select count(*) into v_columns from jsonb_object_keys(v_bad.value);
    if v_columns > 512 then
      v_message := format('rows[%s] has %s columns; a row has at most 512', v_bad.idx, v_columns);
    else
      select c.key, private.cell_bytes(c.value) as bytes into v_cell
        from jsonb_each(v_bad.value) c
       where private.cell_bytes(c.value) > 65536
       limit 1;
      v_message := format('rows[%s].%s is %s bytes; a cell holds at most 65536 bytes',
                          v_bad.idx, left(v_cell.key, 200), v_cell.bytes);
    end if;
  end if;
  if p_rows_before is null then
    raise exception using errcode = '22023', message = v_message;
  end if;
  raise exception using errcode = '22023', message = v_message,
    detail = format('row %s of the upload', p_rows_before + v_bad.idx + 1);
end
$$;

-- ---- schema_def ----

-- What is wrong with a schema_def (null when nothing): `{}` (no schema yet) or the documented
-- version 1. Unknown fields are allowed (fields are only ever added), within the size bound;
-- what is checked is what readers rely on or render: column keys (safe names, unique), types
-- (the enum), strings that are shown (bounded), counts (non-negative integers).
create function private.schema_def_problem(p_schema_def jsonb)
  returns text
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  c_types constant text[] := array['integer', 'number', 'boolean', 'date', 'datetime', 'time',
                                   'string', 'json', 'mixed', 'empty'];
  c_counts constant text[] := array['position', 'null_count', 'non_null_count',
                                    'nonconforming_count', 'distinct_count'];
  v_bytes integer;
  v_column record;
  v_count text;
  v_keys text[] := '{}';
begin
  if p_schema_def is null or p_schema_def = '{}'::jsonb then
    return null;
  end if;
  if jsonb_typeof(p_schema_def) <> 'object' then
    return 'schema_def must be a JSON object';
  end if;
  v_bytes := octet_length(p_schema_def::text);
  if v_bytes > 4194304 then
    return format('schema_def is %s bytes; at most 4194304 (4 MiB)', v_bytes);
  end if;
  if p_schema_def -> 'version' is distinct from '1'::jsonb then
    return format('schema_def.version is %s; it must be 1 (or the schema {} for none)',
                  coalesce((p_schema_def -> 'version')::text, 'missing'));
  end if;
  if coalesce(p_schema_def ->> 'format', 'delimited') not in ('delimited', 'json', 'ndjson', 'xlsx') then
    return 'schema_def.format must be one of delimited, json, ndjson, xlsx';
  end if;
  if jsonb_typeof(p_schema_def -> 'data_type') = 'string'
     and p_schema_def ->> 'data_type' !~ '^[a-z][a-z0-9_]{0,31}$' then
    return 'schema_def.data_type must be 1-32 characters: a lowercase letter, then lowercase letters, digits or _';
  end if;
  if coalesce(jsonb_typeof(p_schema_def -> 'sheet'), 'null') not in ('string', 'null')
     or length(p_schema_def ->> 'sheet') > 255 then
    return 'schema_def.sheet must be a string of at most 255 characters, or null';
  end if;
  if coalesce(jsonb_typeof(p_schema_def -> 'row_count'), 'null') not in ('number', 'null')
     or (p_schema_def ->> 'row_count') !~ '^[0-9]{1,15}$' then
    return 'schema_def.row_count must be a non-negative integer';
  end if;
  if jsonb_typeof(p_schema_def -> 'columns') is distinct from 'array' then
    return 'schema_def.columns must be an array';
  end if;
  if jsonb_array_length(p_schema_def -> 'columns') > 512 then
    return format('schema_def.columns has %s columns; at most 512',
                  jsonb_array_length(p_schema_def -> 'columns'));
  end if;

  for v_column in
    select c.ord - 1 as idx, c.value
      from jsonb_array_elements(p_schema_def -> 'columns') with ordinality c(value, ord)
  loop
    if jsonb_typeof(v_column.value) <> 'object' then
      return format('schema_def.columns[%s] must be an object', v_column.idx);
    end if;
    if jsonb_typeof(v_column.value -> 'key') is distinct from 'string'
       or (v_column.value ->> 'key') !~ '^[a-z0-9_]{1,255}$' then
      return format('schema_def.columns[%s].key must be 1-255 characters of a-z, 0-9 and _', v_column.idx);
    end if;
    if (v_column.value ->> 'key') = any(v_keys) then
      return format('schema_def.columns[%s].key %s is not unique', v_column.idx, v_column.value ->> 'key');
    end if;
    v_keys := v_keys || (v_column.value ->> 'key');
    if jsonb_typeof(v_column.value -> 'type') is distinct from 'string'
       or (v_column.value ->> 'type') <> all(c_types) then
      return format('schema_def.columns[%s].type must be one of %s', v_column.idx, array_to_string(c_types, ', '));
    end if;
    if jsonb_typeof(v_column.value -> 'inferred_type') = 'string'
       and (v_column.value ->> 'inferred_type') <> all(c_types) then
      return format('schema_def.columns[%s].inferred_type must be one of %s', v_column.idx,
                    array_to_string(c_types, ', '));
    end if;
    if coalesce(jsonb_typeof(v_column.value -> 'name'), 'null') not in ('string', 'null')
       or octet_length(v_column.value ->> 'name') > 65536 then
      return format('schema_def.columns[%s].name must be a string of at most 65536 bytes', v_column.idx);
    end if;
    if coalesce(jsonb_typeof(v_column.value -> 'semantic_type'), 'null') not in ('string', 'null')
       or (v_column.value ->> 'semantic_type') !~ '^[a-z][a-z0-9_]{0,31}$' then
      return format('schema_def.columns[%s].semantic_type must be a lowercase name, or null', v_column.idx);
    end if;
    if coalesce(jsonb_typeof(v_column.value -> 'samples'), 'null') not in ('array', 'null')
       or jsonb_array_length(coalesce(v_column.value -> 'samples', '[]')) > 20 then
      return format('schema_def.columns[%s].samples must be an array of at most 20 values', v_column.idx);
    end if;
    foreach v_count in array c_counts loop
      if coalesce(jsonb_typeof(v_column.value -> v_count), 'null') not in ('number', 'null')
         or (v_column.value ->> v_count) !~ '^[0-9]{1,15}$' then
        return format('schema_def.columns[%s].%s must be a non-negative integer', v_column.idx, v_count);
      end if;
    end loop;
  end loop;
  return null;
end
$$;

-- Replaces the object-only check the functions called so far: the whole shape.
create or replace function private.check_schema_def(p_schema_def jsonb)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_problem text := private.schema_def_problem(p_schema_def);
begin
  if v_problem is not null then
    raise exception using errcode = '22023', message = v_problem,
      hint = 'See the schema_def shape in crates/ingest/src/schema.rs.';
  end if;
end
$$;

grant execute on function private.schema_def_problem(jsonb) to authenticated, service_role;

-- Clients may write schema_def of their own tables straight through the API; the table keeps
-- the shape itself.
alter table public.client_schemas
  add constraint client_schemas_schema_def_shape check (private.schema_def_problem(schema_def) is null);

-- schema_def.row_count is the table's true count (client_schemas.row_count, which the counts
-- triggers keep), whatever a caller wrote: set on every insert and update of the row, the
-- counts triggers' updates included, so it never goes stale. (Runs after
-- client_schemas_start_counts, which sets the first count: triggers fire in name order.)
create function private.sync_schema_def_row_count()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if new.schema_def ? 'version' and new.schema_def -> 'row_count' is distinct from to_jsonb(new.row_count) then
    new.schema_def := jsonb_set(new.schema_def, '{row_count}', to_jsonb(new.row_count));
  end if;
  return new;
end
$$;

create trigger client_schemas_sync_schema_row_count
  before insert or update on public.client_schemas
  for each row execute function private.sync_schema_def_row_count();

-- ---- Uploads: staged rows and bytes, pending uploads ----

alter table staging.uploads
  add column bytes_staged bigint not null default 0 check (bytes_staged >= 0);
grant select (bytes_staged), update (bytes_staged) on table staging.uploads to authenticated;

-- stage_upload_rows as before, plus the per-upload limits: a batch that would take the upload
-- over 2,000,000 rows or 1 GiB is refused whole (PT413 -> HTTP 413) and the upload stays as it
-- was (abort it, or commit what was staged).
create or replace function public.stage_upload_rows(p_upload_id uuid, p_rows jsonb)
  returns integer
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  c_max_rows constant bigint := 2000000;
  c_max_bytes constant bigint := 1073741824;
  v_upload record;
  v_added bigint;
  -- The batch as PostgreSQL holds it: an argument is never compressed, so this is its size.
  v_bytes bigint := pg_catalog.pg_column_size(p_rows);
begin
  perform private.check_rows_array(p_rows);

  select u.client_id, u.status, u.rows_staged, u.bytes_staged into v_upload
    from staging.uploads u
   where u.upload_id = p_upload_id
     for update;
  if not found then
    raise exception using errcode = 'PT404',
      message = format('upload %s not found', p_upload_id),
      hint = 'Start the upload with begin_upload; unfinished uploads are removed after a while.';
  end if;
  if v_upload.status <> 'pending' then
    raise exception using errcode = 'PT409',
      message = format('upload %s is %s; only a pending upload accepts rows', p_upload_id, v_upload.status);
  end if;
  if v_upload.rows_staged + jsonb_array_length(p_rows) > c_max_rows then
    raise exception using errcode = 'PT413',
      message = format('this batch would take upload %s to %s rows; an upload has at most %s',
                       p_upload_id, v_upload.rows_staged + jsonb_array_length(p_rows), c_max_rows),
      hint = 'Split the data into several uploads.';
  end if;
  if v_upload.bytes_staged + v_bytes > c_max_bytes then
    raise exception using errcode = 'PT413',
      message = format('this batch would take upload %s to %s bytes; an upload stages at most %s (1 GiB)',
                       p_upload_id, v_upload.bytes_staged + v_bytes, c_max_bytes),
      hint = 'Split the data into several uploads.';
  end if;

  perform private.check_rows(p_rows, v_upload.rows_staged);

  insert into staging.upload_rows (upload_id, client_id, seq, data)
  select p_upload_id, v_upload.client_id, v_upload.rows_staged + e.ord, e.value
    from jsonb_array_elements(p_rows) with ordinality e(value, ord);
  get diagnostics v_added = row_count;

  update staging.uploads u
     set rows_staged = u.rows_staged + v_added,
         bytes_staged = u.bytes_staged + v_bytes
   where u.upload_id = p_upload_id;

  return v_upload.rows_staged + v_added;
end
$$;

-- At most 4 active pending uploads per client (kind 'append'; 'create' is admin only): a fifth
-- begin_upload is refused with PT429 (-> HTTP 429) until one is committed or aborted. A pending
-- upload idle for an hour is abandoned: it does not count (and cleanup_abandoned_uploads,
-- scheduled by the Worker, removes it with its rows). The advisory lock per client keeps two
-- concurrent begins from both counting 3. Security invoker: a client counts its own uploads
-- (RLS), service_role every client's.
create function private.limit_pending_uploads()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
declare
  c_max_pending constant integer := 4;
  v_pending integer;
begin
  if new.kind <> 'append' then
    return new;
  end if;
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('pending uploads ' || new.client_id::text, 0));
  select count(*) into v_pending
    from staging.uploads u
   where u.kind = 'append' and u.client_id = new.client_id and u.status = 'pending'
     and u.updated_at > pg_catalog.now() - interval '1 hour';
  if v_pending >= c_max_pending then
    raise exception using errcode = 'PT429',
      message = format('client %s has %s uploads in progress; at most %s at a time',
                       new.client_id, v_pending, c_max_pending),
      hint = 'Commit or abort one first; an upload idle for an hour no longer counts.';
  end if;
  return new;
end
$$;

create trigger uploads_limit_pending
  before insert on staging.uploads
  for each row execute function private.limit_pending_uploads();
