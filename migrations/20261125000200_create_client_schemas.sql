-- One row per (client, logical table): the detected schema, the kind of data, and counts that
-- the client_data triggers keep true (see 20261125000400).
create table public.client_schemas (
  client_id   uuid not null references public.clients (client_id) on delete cascade,
  -- Table names are logical (rows live in client_data); the pattern keeps them safe to show,
  -- log and put in URLs: `client_{first 8 hex of client_id}_{data_type}` fits it.
  table_name  text not null check (table_name ~ '^[a-z][a-z0-9_]{0,62}$'),
  schema_def  jsonb not null default '{}'::jsonb check (jsonb_typeof(schema_def) = 'object'),
  data_type   text not null default 'data' check (data_type ~ '^[a-z][a-z0-9_]{0,31}$'),
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

-- The tenant check reads the caller's client_id once per statement: `(select auth.uid())` is an
-- initPlan, not a per-row call.
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

-- A client may describe its own tables (append_client_data runs as the client) but never set
-- row_count or data_stored: those are derived, and only the triggers write them.
revoke all on table public.client_schemas from anon, authenticated;
grant select on table public.client_schemas to authenticated;
grant insert (client_id, table_name, schema_def, data_type) on table public.client_schemas
  to authenticated;
grant update (schema_def, data_type) on table public.client_schemas to authenticated;
grant select, insert, update, delete on table public.client_schemas to service_role;
