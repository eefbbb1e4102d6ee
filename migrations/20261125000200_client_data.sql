-- Every client's rows, as JSONB, in one table, and the indexes the reads walk. The primary key
-- starts with client_id so that a later move to hash partitions (or Citus) by client_id needs no
-- key change. (The counts it keeps in client_schemas are maintained by the triggers of
-- 20261125000300_client_schemas.)
create table public.client_data (
  id         bigint generated always as identity,
  client_id  uuid not null references public.clients (client_id) on delete cascade,
  table_name private.table_name not null,
  data       jsonb not null check (jsonb_typeof(data) = 'object'),
  created_at timestamptz not null default now(),
  constraint client_data_pkey primary key (client_id, id)
);

-- Indexes. Every read is tenant-scoped (RLS adds `client_id = …` to any query a client runs, and
-- the RPC functions always pass p_client_id), and the hot query is
--   where client_id = $1 [and table_name = $2] order by created_at desc, id desc limit N
-- plus a keyset cursor `(created_at, id) < ($3, $4)`. So the seed's indexes become:
--
-- idx_client_data_client_id: (client_id, created_at desc, id desc) instead of (client_id) alone.
--   Still serves every lookup by client_id, and also yields the newest-first order, so a LIMIT
--   (and a cursor) stops after N index entries instead of sorting the tenant's whole data set.
create index idx_client_data_client_id
  on public.client_data (client_id, created_at desc, id desc);

-- idx_client_data_client_table: the same with table_name, for the per-table listing and count.
create index idx_client_data_client_table
  on public.client_data (client_id, table_name, created_at desc, id desc);

-- idx_client_data_table_name (table_name alone) is deliberately NOT created: no query filters by
-- table_name without client_id (see above), and idx_client_data_client_table answers every query
-- that does filter by table_name. One index fewer to maintain on every insert.
-- tests/database/06-indexes.sql shows with EXPLAIN which index each query shape uses.

-- idx_client_data_jsonb: GIN with jsonb_path_ops rather than the default jsonb_ops: it only
-- supports containment (`data @> '{"category":"electronics"}'`), which is what a GIN index can
-- serve here, and is smaller and faster to build and search. Equality filters written as
-- `data->>'field' = 'text'` (the RPC filter semantics: they also match numbers and booleans by
-- their text) cannot use a GIN index at all; they are served by walking the tenant's rows
-- through the btree indexes above, newest first, until the LIMIT is met.
create index idx_client_data_jsonb
  on public.client_data using gin (data jsonb_path_ops);

alter table public.client_data enable row level security;

-- The tenant check reads the caller's client_id once per statement: `(select auth.uid())` is an
-- initPlan, not a per-row call.
create policy client_data_select_own on public.client_data
  for select to authenticated
  using (client_id = (select c.client_id from public.clients c
                      where c.auth_user_id = (select auth.uid())));

create policy client_data_insert_own on public.client_data
  for insert to authenticated
  with check (client_id = (select c.client_id from public.clients c
                           where c.auth_user_id = (select auth.uid())));

-- Clients read and add their own rows; changing or deleting rows is an admin operation. Nobody
-- gets TRUNCATE (it skips row triggers; the counts trigger handles it anyway). Inserts draw ids
-- through the identity column, which needs no privilege on its sequence, so nobody has one:
-- a single setval() would make every later insert collide with existing ids.
grant select on table public.client_data to authenticated;
grant insert (client_id, table_name, data) on table public.client_data to authenticated;
grant select, insert, update, delete on table public.client_data to service_role;
