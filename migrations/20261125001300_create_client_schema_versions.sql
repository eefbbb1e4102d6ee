-- History of each logical table's schema: version 1 when the table appears, one more version
-- each time its schema_def or data_type changes (a re-upload with a new structure), so a client
-- or an admin can see how the data's shape evolved. Written only by the trigger below.
create table public.client_schema_versions (
  client_id  uuid not null,
  table_name text not null,
  version    integer not null check (version >= 1),
  schema_def jsonb not null,
  data_type  text not null,
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

revoke all on table public.client_schema_versions from anon, authenticated;
grant select on table public.client_schema_versions to authenticated;
revoke all on table public.client_schema_versions from service_role;
grant select, delete on table public.client_schema_versions to service_role;

-- SECURITY DEFINER for the same reason as the counts trigger: the history is derived from what
-- happened to client_schemas, and clients (who have only SELECT here) must not be able to
-- forge it. The next version is safe to compute with max()+1: an INSERT of the table's row is
-- unique per (client_id, table_name), and an UPDATE holds that row's lock until commit.
create or replace function private.record_client_schema_version()
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

revoke execute on function private.record_client_schema_version() from public;

create trigger client_schemas_version_insert
  after insert on public.client_schemas
  for each row execute function private.record_client_schema_version();

-- `update of` leaves out the counts trigger's updates (row_count, data_stored) entirely.
create trigger client_schemas_version_update
  after update of schema_def, data_type on public.client_schemas
  for each row
  when (old.schema_def is distinct from new.schema_def or old.data_type is distinct from new.data_type)
  execute function private.record_client_schema_version();

-- Tables that exist already start their history at version 1.
insert into public.client_schema_versions (client_id, table_name, version, schema_def, data_type, created_at)
select s.client_id, s.table_name, 1, s.schema_def, s.data_type, s.updated_at
  from public.client_schemas s;
