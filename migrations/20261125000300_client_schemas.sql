-- A client's logical tables: one client_schemas row per (client, table) with the detected schema,
-- the kind of data and counts that the database keeps true; the history of each table's schema;
-- and the summary view that shows both counts side by side.
create table public.client_schemas (
  client_id   uuid not null references public.clients (client_id) on delete cascade,
  table_name  private.table_name not null,
  schema_def  jsonb not null default '{}'::jsonb check (jsonb_typeof(schema_def) = 'object'),
  data_type   private.data_type not null default 'data',
  data_stored boolean not null default false,
  row_count   bigint not null default 0 check (row_count >= 0),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint client_schemas_pkey primary key (client_id, table_name)
);

create trigger client_schemas_set_updated_at
  before update on public.client_schemas
  for each row execute function private.set_updated_at();

alter table public.client_schemas enable row level security;

create policy client_schemas_select_own on public.client_schemas
  for select to authenticated
  using (client_id = (select c.client_id from public.clients c
                      where c.auth_user_id = (select auth.uid())));

create policy client_schemas_insert_own on public.client_schemas
  for insert to authenticated
  with check (client_id = (select c.client_id from public.clients c
                           where c.auth_user_id = (select auth.uid())));

create policy client_schemas_update_own on public.client_schemas
  for update to authenticated
  using (client_id = (select c.client_id from public.clients c
                      where c.auth_user_id = (select auth.uid())))
  with check (client_id = (select c.client_id from public.clients c
                           where c.auth_user_id = (select auth.uid())));

-- Clients and admins may describe tables (the functions run as the caller) but nobody may name
-- row_count or data_stored: those are derived, and only the triggers below (as the table owner)
-- write them; an UPDATE could set a count and an INSERT could start one at any value.
-- updated_at is the set_updated_at trigger's. Deleting a table's row is an admin operation.
grant select on table public.client_schemas to authenticated, service_role;
grant insert (client_id, table_name, schema_def, data_type) on table public.client_schemas
  to authenticated, service_role;
grant update (schema_def, data_type) on table public.client_schemas to authenticated, service_role;
grant delete on table public.client_schemas to service_role;

-- ---- Counts ----
-- client_schemas.row_count and .data_stored are kept true by the database, whatever path writes
-- client_data: the RPC functions, a direct INSERT through the API, the seed's legacy
-- `insert into client_data … select … from data_uploads`, or an admin's DELETE.
--
-- Statement-level triggers with transition tables: one grouped UPDATE/UPSERT per statement
-- instead of one per row, so a bulk load of 100k rows costs one aggregate, not 100k updates.
--
-- SECURITY DEFINER, on purpose: the counts are derived data that clients must not be able to
-- forge, so no API role has a privilege on row_count/data_stored; this function (owned by the
-- migration owner) is the only writer. It lives in `private` with no EXECUTE grant, so it can
-- only run as a trigger, and it only ever writes counts for the rows the statement touched.
create function private.sync_client_schema_counts()
  returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    -- Creates the client_schemas row when a path inserted data without one.
    insert into public.client_schemas as s (client_id, table_name, row_count, data_stored)
    select n.client_id, n.table_name, count(*), true
      from new_rows n
     group by n.client_id, n.table_name
    on conflict (client_id, table_name) do update
      set row_count = s.row_count + excluded.row_count,
          data_stored = s.row_count + excluded.row_count > 0;
  elsif tg_op = 'DELETE' then
    update public.client_schemas s
       set row_count = greatest(s.row_count - d.n, 0),
           data_stored = s.row_count - d.n > 0
      from (select o.client_id, o.table_name, count(*) as n
              from old_rows o
             group by o.client_id, o.table_name) d
     where s.client_id = d.client_id and s.table_name = d.table_name;
  elsif tg_op = 'UPDATE' then
    -- Only a change of client_id or table_name moves counts: the net change per group is taken
    -- from the groups rows left and added (upserted) to the groups rows joined. The two sets of
    -- groups are disjoint, so the CTE's UPDATE and the INSERT never touch the same row.
    with moves as (
      select m.client_id, m.table_name, sum(m.delta) as delta
        from (select n.client_id, n.table_name, 1 as delta from new_rows n
              union all
              select o.client_id, o.table_name, -1 from old_rows o) m
       group by m.client_id, m.table_name
      having sum(m.delta) <> 0
    ), left_groups as (
      update public.client_schemas s
         set row_count = greatest(s.row_count + g.delta, 0),
             data_stored = s.row_count + g.delta > 0
        from moves g
       where g.delta < 0 and s.client_id = g.client_id and s.table_name = g.table_name
    )
    insert into public.client_schemas as s (client_id, table_name, row_count, data_stored)
    select g.client_id, g.table_name, g.delta, true
      from moves g
     where g.delta > 0
    on conflict (client_id, table_name) do update
      set row_count = s.row_count + excluded.row_count,
          data_stored = true;
  elsif tg_op = 'TRUNCATE' then
    update public.client_schemas
       set row_count = 0, data_stored = false
     where row_count <> 0 or data_stored;
  end if;
  return null;
end
$$;

create trigger client_data_count_insert
  after insert on public.client_data
  referencing new table as new_rows
  for each statement execute function private.sync_client_schema_counts();

create trigger client_data_count_delete
  after delete on public.client_data
  referencing old table as old_rows
  for each statement execute function private.sync_client_schema_counts();

-- (PostgreSQL allows no column list on a trigger with transition tables, hence every UPDATE.)
create trigger client_data_count_update
  after update on public.client_data
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.sync_client_schema_counts();

create trigger client_data_count_truncate
  after truncate on public.client_data
  for each statement execute function private.sync_client_schema_counts();

-- A client_schemas row that is created while its table already has rows in client_data starts
-- from the real count, not from 0 or from the rows of the statement at hand. This happens when
-- an admin deleted the row but not the data: append_client_data and commit_upload then create
-- the row anew (count 0) before inserting, and a bare INSERT makes the counts trigger create it
-- with just that statement's rows; either way row_count would stay short of the real count.
--
-- A BEFORE INSERT trigger covers every path that creates the row, the counts trigger's upsert
-- included: when the row exists already the INSERT is about to conflict, so the values are left
-- as given (the upsert then adds its delta) and no count is run; only a new row pays for a
-- count(*), over an index range that is empty unless rows were orphaned.
--
-- Security invoker: every role that may insert here can read the rows it counts (a client only
-- its own, and RLS admits its own client_id only; service_role and the counts trigger all rows).
-- Remaining inexactness: two transactions that concurrently create the row of a table that had
-- orphaned rows both count those rows (the second one's upsert adds its count).
create function private.start_client_schema_counts()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if exists (select from public.client_schemas s
              where s.client_id = new.client_id and s.table_name = new.table_name) then
    return new;
  end if;
  select count(*) into new.row_count
    from public.client_data d
   where d.client_id = new.client_id and d.table_name = new.table_name;
  new.data_stored := new.row_count > 0;
  return new;
end
$$;

create trigger client_schemas_start_counts
  before insert on public.client_schemas
  for each row execute function private.start_client_schema_counts();

-- ---- Schema history ----
-- Version 1 when a table appears, one more version each time its schema_def or data_type
-- changes (a re-upload with a new structure), so a client or an admin can see how the data's
-- shape evolved. Written only by the trigger below.
create table public.client_schema_versions (
  client_id  uuid not null,
  table_name private.table_name not null,
  version    integer not null check (version >= 1),
  schema_def jsonb not null,
  data_type  private.data_type not null,
  created_at timestamptz not null default now(),
  constraint client_schema_versions_pkey primary key (client_id, table_name, version),
  constraint client_schema_versions_table_fkey foreign key (client_id, table_name)
    references public.client_schemas (client_id, table_name) on delete cascade
);

alter table public.client_schema_versions enable row level security;

create policy client_schema_versions_select_own on public.client_schema_versions
  for select to authenticated
  using (client_id = (select c.client_id from public.clients c
                      where c.auth_user_id = (select auth.uid())));

grant select on table public.client_schema_versions to authenticated;
grant select, delete on table public.client_schema_versions to service_role;

-- SECURITY DEFINER for the same reason as the counts trigger: the history is derived from what
-- happened to client_schemas, and clients (who have only SELECT here) must not be able to
-- forge it. The next version is safe to compute with max()+1: an INSERT of the table's row is
-- unique per (client_id, table_name), and an UPDATE holds that row's lock until commit.
create function private.record_client_schema_version()
  returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  insert into public.client_schema_versions (client_id, table_name, version, schema_def, data_type)
  select new.client_id, new.table_name, coalesce(max(v.version), 0) + 1, new.schema_def, new.data_type
    from public.client_schema_versions v
   where v.client_id = new.client_id and v.table_name = new.table_name;
  return null;
end
$$;

create trigger client_schemas_version_insert
  after insert on public.client_schemas
  for each row execute function private.record_client_schema_version();

-- `update of` leaves out the counts trigger's updates (row_count, data_stored) entirely.
create trigger client_schemas_version_update
  after update of schema_def, data_type on public.client_schemas
  for each row
  when (old.schema_def is distinct from new.schema_def or old.data_type is distinct from new.data_type)
  execute function private.record_client_schema_version();

-- ---- Summary ----
-- Per client and table: the stored counts next to the real count, to spot drift at a glance.
-- security_invoker = true: a plain view runs with its owner's rights, which bypass RLS, and would
-- show every tenant to every client. As invoker, each caller sees only what RLS lets it see.
create view public.client_data_summary
  with (security_invoker = true)
as
select c.client_id,
       c.company_name,
       c.email,
       s.table_name,
       s.data_type,
       s.data_stored,
       s.row_count,
       (select count(*)
          from public.client_data d
         where d.client_id = s.client_id and d.table_name = s.table_name) as actual_row_count,
       s.updated_at
  from public.clients c
  join public.client_schemas s on s.client_id = c.client_id;

grant select on table public.client_data_summary to authenticated, service_role;
