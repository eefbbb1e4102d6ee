-- One row per upload (issue 5). A file upload reaches the database as several calls, each its
-- own transaction: begin_upload, stage_upload_rows per batch, then commit_upload (or
-- abort_upload). The rows wait in staging.upload_rows until the commit moves them into
-- client_data all together, so nobody ever sees half an upload.
--
-- kind 'create' makes a new client at commit (client holds {company_name, email,
-- password_hash?, auth_user_id?}; admin only); kind 'append' adds to an existing client.
-- A committed upload keeps its result so that a retry with the same Idempotency-Key gets it back
-- instead of storing the rows twice.
create table staging.uploads (
  upload_id       uuid primary key default gen_random_uuid(),
  kind            text not null check (kind in ('create', 'append')),
  -- No foreign key: a 'create' upload names a client that exists only once it commits.
  client_id       uuid not null,
  table_name      text not null check (table_name ~ '^[a-z][a-z0-9_]{0,62}$'),
  data_type       text not null check (data_type ~ '^[a-z][a-z0-9_]{0,31}$'),
  client          jsonb check (jsonb_typeof(client) = 'object'),
  idempotency_key text check (length(idempotency_key) between 1 and 255),
  status          text not null default 'pending' check (status in ('pending', 'committed', 'aborted')),
  rows_staged     bigint not null default 0 check (rows_staged >= 0),
  result          jsonb,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint uploads_client_only_for_create check ((kind = 'create') = (client is not null)),
  constraint uploads_result_once_committed check ((status = 'committed') = (result is not null)),
  -- A committed upload is kept for ever (its result answers idempotent replays); the new
  -- client's password hash must not stay with it (commit_upload moves it into clients).
  constraint uploads_no_password_hash_once_committed
    check (status <> 'committed' or not coalesce(client ? 'password_hash', false)),
  -- Target of upload_rows' foreign key, which carries client_id for a cheap RLS check.
  constraint uploads_upload_id_client_id_key unique (upload_id, client_id)
);

-- An Idempotency-Key is scoped to the client it appends to, or for a new client to its email
-- (the client_id of a retried create is new each time); the same key used by different clients
-- means different uploads. Keys are optional, and NULLs never collide.
create unique index uploads_append_idempotency_key
  on staging.uploads (client_id, idempotency_key) where kind = 'append';
create unique index uploads_create_idempotency_key
  on staging.uploads (lower(client ->> 'email'), idempotency_key) where kind = 'create';

-- cleanup_abandoned_uploads looks for pending uploads without activity for a while.
create index uploads_pending_updated_at on staging.uploads (updated_at) where status = 'pending';

-- updated_at is the last activity (every staged batch updates rows_staged).
create trigger uploads_set_updated_at
  before update on staging.uploads
  for each row execute function private.set_updated_at();

alter table staging.uploads enable row level security;

-- A client sees and drives its own appends only; creating clients is for service_role (which
-- bypasses RLS), so a client never sees a 'create' upload, whose `client` holds a password hash.
create policy uploads_select_own on staging.uploads
  for select to authenticated
  using (kind = 'append'
         and client_id = (select c.client_id from public.clients c
                          where c.auth_user_id = (select auth.uid())));

create policy uploads_insert_own on staging.uploads
  for insert to authenticated
  with check (kind = 'append'
              and client_id = (select c.client_id from public.clients c
                               where c.auth_user_id = (select auth.uid())));

create policy uploads_update_own on staging.uploads
  for update to authenticated
  using (kind = 'append'
         and client_id = (select c.client_id from public.clients c
                          where c.auth_user_id = (select auth.uid())))
  with check (kind = 'append'
              and client_id = (select c.client_id from public.clients c
                               where c.auth_user_id = (select auth.uid())));

create policy uploads_delete_own on staging.uploads
  for delete to authenticated
  using (kind = 'append'
         and client_id = (select c.client_id from public.clients c
                          where c.auth_user_id = (select auth.uid())));

revoke all on table staging.uploads from public, anon, authenticated, service_role;
grant select (upload_id, kind, client_id, table_name, data_type, idempotency_key, status,
              rows_staged, result, created_at, updated_at)
  on table staging.uploads to authenticated;
-- insert (client): begin_upload names the column for both kinds; for a client it can only be
-- null (RLS admits kind 'append' only, and uploads_client_only_for_create does the rest).
grant insert (kind, client_id, table_name, data_type, client, idempotency_key)
  on table staging.uploads to authenticated;
grant update (status, rows_staged, result) on table staging.uploads to authenticated;
-- delete: restarting a pending upload under the same Idempotency-Key replaces it.
grant delete on table staging.uploads to authenticated;
grant select, insert, update, delete on table staging.uploads to service_role;
