-- Uploads: streamed, all or nothing, idempotent. A file upload reaches the database as several
-- calls, each its own transaction: begin_upload, stage_upload_rows per batch, then commit_upload
-- (or abort_upload). The rows wait in staging.upload_rows until the commit moves them into
-- client_data all together, so nobody ever sees half an upload; the commit answers everything
-- the upload's HTTP answer needs, so an upload is begin + one call per batch + commit.

-- Schema `staging` is not an exposed schema (PostgREST serves `public` only), so its tables are
-- reachable solely through the upload functions in public, which run as the caller (security
-- invoker) and so need the API roles to have USAGE here; RLS and column grants on each table
-- then decide what a caller may touch. Supabase's default grants are for `public` only.
create schema staging;
grant usage on schema staging to authenticated, service_role;

-- One row per upload. kind 'create' makes a new client at commit (client holds {company_name,
-- email, password_hash?, auth_user_id?}; admin only); kind 'append' adds to an existing client.
-- A committed upload keeps its result (and the digest of the request that made it) so that a
-- retry with the same Idempotency-Key gets it back instead of storing the rows twice, and a
-- different request under the same key can be told apart.
create table staging.uploads (
  upload_id       uuid primary key default gen_random_uuid(),
  kind            text not null check (kind in ('create', 'append')),
  -- No foreign key: a 'create' upload names a client that exists only once it commits.
  client_id       uuid not null,
  table_name      private.table_name not null,
  data_type       private.data_type not null,
  client          jsonb check (jsonb_typeof(client) = 'object'),
  idempotency_key text check (length(idempotency_key) between 1 and 255),
  status          text not null default 'pending' check (status in ('pending', 'committed', 'aborted')),
  rows_staged     bigint not null default 0 check (rows_staged >= 0),
  result          jsonb,
  -- Whatever the Worker computes over the request body (e.g. hex SHA-256), stored at commit.
  request_digest  text check (length(request_digest) between 1 and 255),
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

grant select (upload_id, kind, client_id, table_name, data_type, idempotency_key, status,
              rows_staged, result, request_digest, created_at, updated_at)
  on table staging.uploads to authenticated;
-- insert (client): begin_upload names the column for both kinds; for a client it can only be
-- null (RLS admits kind 'append' only, and uploads_client_only_for_create does the rest).
grant insert (kind, client_id, table_name, data_type, client, idempotency_key)
  on table staging.uploads to authenticated;
grant update (status, rows_staged, result, request_digest) on table staging.uploads to authenticated;
-- delete: restarting a pending upload under the same Idempotency-Key replaces it.
grant delete on table staging.uploads to authenticated;
grant select, insert, update, delete on table staging.uploads to service_role;

-- Rows staged by an upload, in the order they were sent (seq counts from 1 across the upload's
-- batches). They live outside client_data, so neither client_data, the functions that read it,
-- the counts nor the summary view can see them before the commit moves them.
--
-- client_id repeats the upload's so the RLS check is one initPlan per statement rather than a
-- lookup of the upload for every staged row. The composite foreign key keeps the two equal, which
-- is what stops a row with the caller's client_id from naming another client's upload (and being
-- committed into that client's data). It costs about 3 µs per staged row, measured.
create table staging.upload_rows (
  upload_id uuid not null,
  client_id uuid not null,
  seq       bigint not null check (seq >= 1),
  data      jsonb not null check (jsonb_typeof(data) = 'object'),
  constraint upload_rows_pkey primary key (upload_id, seq),
  constraint upload_rows_upload_fkey foreign key (upload_id, client_id)
    references staging.uploads (upload_id, client_id) on delete cascade
);

alter table staging.upload_rows enable row level security;

create policy upload_rows_select_own on staging.upload_rows
  for select to authenticated
  using (client_id = (select c.client_id from public.clients c
                      where c.auth_user_id = (select auth.uid())));

create policy upload_rows_insert_own on staging.upload_rows
  for insert to authenticated
  with check (client_id = (select c.client_id from public.clients c
                           where c.auth_user_id = (select auth.uid())));

create policy upload_rows_delete_own on staging.upload_rows
  for delete to authenticated
  using (client_id = (select c.client_id from public.clients c
                      where c.auth_user_id = (select auth.uid())));

grant select, insert, delete on table staging.upload_rows to authenticated, service_role;

-- Starts an upload: returns {upload_id, status, replayed, result, request_digest}.
--
-- p_kind 'create': a new client, described by p_client = {company_name, email, password_hash?,
--   auth_user_id?}, with the client_id the Worker chose (null -> a new one); admin only, checked
--   as the right to insert clients. A taken email, client_id or auth_user_id is refused here
--   already (23505), so a doomed upload stops before its rows are sent; commit checks again. So
--   is an auth_user_id that is another client's client_id, or a client_id that is another
--   client's auth_user_id (23505, clients_identity_distinct), which the clients trigger would
--   refuse at commit.
-- p_kind 'append': an existing client the caller can see (RLS), else not found (PT404).
-- p_table_name null -> client_{first 8 hex of client_id}_{data_type}.
--
-- Idempotency-Key (p_idempotency_key, scoped to the client, or to the email for 'create'):
--   already committed for the same table -> replayed: true with the stored result and the
--   request_digest the commit stored (the Worker compares it with the retry's body), and nothing
--   else happens;
--   already committed for another table -> refused (PT409 -> HTTP 409, the Worker's
--   idempotency_conflict) rather than replaying the old result and dropping the new rows. The
--   table asked for is named as it would be for the stored upload's client: a retried 'create'
--   carries a new client_id each time, so without p_table_name it means that client's default
--   table for the data_type. (For 'create' the key is scoped to the email: the same key with
--   another email is another upload.)
--   pending with activity (begin or a staged batch: updated_at) in the last 30 seconds ->
--   refused (PT409 with detail 'in_progress' -> HTTP 409, the Worker's idempotency_in_progress):
--   another request with this key is still being processed, and restarting would discard its
--   staged rows under it (the IETF Idempotency-Key draft answers a key in flight with 409 too);
--   pending but idle for longer (an earlier attempt died half way) or aborted (the Worker aborts
--   when its client hangs up) -> that attempt's staged rows are discarded and the upload starts
--   again under a new upload_id, so a straggling batch of the old attempt cannot land in the
--   new one.
create function public.begin_upload(
  p_kind text,
  p_client_id uuid,
  p_table_name text,
  p_data_type text default 'data',
  p_idempotency_key text default null,
  p_client jsonb default null
)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_data_type text := coalesce(p_data_type, 'data');
  v_client_id uuid := p_client_id;
  v_client jsonb;
  v_email text;
  v_auth_user_id uuid;
  v_table_name text;
  v_requested_table text;
  v_previous record;
  v_upload_id uuid;
  -- How long a pending upload must have been idle before the same key may restart it. The
  -- Worker stages a batch (at most 2,000 rows or 1 MiB) as soon as it has read one, so a live
  -- request touches updated_at far more often unless its client sends slower than ~35 KB/s;
  -- 30 s of silence means the request is gone. Shorter would discard a slow live upload under
  -- its request; longer keeps the retry after a crash waiting (a retried upload that crashed
  -- without aborting is the only case that waits at all).
  c_idle_before_restart constant interval := interval '30 seconds';
begin
  if p_kind is null or p_kind not in ('create', 'append') then
    raise exception using errcode = '22023',
      message = format('kind %L is invalid; use ''create'' or ''append''', p_kind);
  end if;
  perform private.check_data_type(v_data_type);
  if p_idempotency_key is not null and length(p_idempotency_key) not between 1 and 255 then
    raise exception using errcode = '22023',
      message = 'the Idempotency-Key must have 1 to 255 characters';
  end if;

  if p_kind = 'create' then
    if not pg_catalog.has_table_privilege('public.clients', 'INSERT') then
      raise exception using errcode = '42501', message = 'only an admin can create a client';
    end if;
    if p_client is null or jsonb_typeof(p_client) <> 'object' then
      raise exception using errcode = '22023',
        message = 'client must be a JSON object {company_name, email, password_hash?, auth_user_id?}';
    end if;
    if jsonb_typeof(p_client -> 'company_name') is distinct from 'string'
       or btrim(p_client ->> 'company_name') = '' then
      raise exception using errcode = '22023', message = 'company_name must not be empty';
    end if;
    v_email := btrim(p_client ->> 'email');
    if jsonb_typeof(p_client -> 'email') is distinct from 'string' or position('@' in v_email) < 2 then
      raise exception using errcode = '22023',
        message = format('email %s is not an email address', coalesce(p_client -> 'email', 'null'));
    end if;
    if coalesce(jsonb_typeof(p_client -> 'password_hash'), 'null') not in ('string', 'null') then
      raise exception using errcode = '22023', message = 'password_hash must be a string';
    end if;
    begin
      v_auth_user_id := (p_client ->> 'auth_user_id')::uuid;
    exception when invalid_text_representation then
      raise exception using errcode = '22023',
        message = format('auth_user_id %s is not a UUID', p_client -> 'auth_user_id');
    end;
    v_client_id := coalesce(p_client_id, gen_random_uuid());
    v_client := jsonb_strip_nulls(jsonb_build_object(
      'company_name', btrim(p_client ->> 'company_name'),
      'email', v_email,
      'password_hash', p_client ->> 'password_hash',
      'auth_user_id', v_auth_user_id));
  else
    if p_client is not null then
      raise exception using errcode = '22023',
        message = 'client describes a new client; an append goes to an existing one';
    end if;
    perform private.check_client_visible(p_client_id, 'A client can only upload to its own data.');
  end if;

  v_table_name := coalesce(p_table_name, private.default_table_name(v_client_id, v_data_type));
  perform private.check_table_name(v_table_name);

  if p_idempotency_key is not null then
    -- The same expressions as the two partial unique indexes on staging.uploads. Two queries:
    -- a client may not even name the `client` column (it holds password hashes).
    if p_kind = 'append' then
      select u.upload_id, u.status, u.result, u.request_digest, u.client_id, u.table_name::text,
             u.updated_at
        into v_previous
        from staging.uploads u
       where u.kind = 'append' and u.client_id = v_client_id and u.idempotency_key = p_idempotency_key
         for update;
    else
      select u.upload_id, u.status, u.result, u.request_digest, u.client_id, u.table_name::text,
             u.updated_at
        into v_previous
        from staging.uploads u
       where u.kind = 'create' and lower(u.client ->> 'email') = lower(v_email)
         and u.idempotency_key = p_idempotency_key
         for update;
    end if;
    if found then
      if v_previous.status = 'committed' then
        v_requested_table := coalesce(p_table_name,
                                      private.default_table_name(v_previous.client_id, v_data_type));
        if v_requested_table <> v_previous.table_name then
          raise exception using errcode = 'PT409',
            message = format('Idempotency-Key %s was used for an upload to table %s; this request is for table %s',
                             p_idempotency_key, v_previous.table_name, v_requested_table),
            hint = 'Send a different upload with a new Idempotency-Key.';
        end if;
        return jsonb_build_object('upload_id', v_previous.upload_id, 'status', 'committed',
                                  'replayed', true, 'result', v_previous.result,
                                  'request_digest', v_previous.request_digest);
      end if;
      -- The row lock above waited for a batch in flight, so updated_at is its latest activity.
      if v_previous.status = 'pending'
         and v_previous.updated_at > pg_catalog.now() - c_idle_before_restart then
        raise exception using errcode = 'PT409', detail = 'in_progress',
          message = format('an upload with Idempotency-Key %s is still in progress', p_idempotency_key),
          hint = format('Retry when it has finished (or after %s s if it was abandoned).',
                        extract(epoch from c_idle_before_restart)::integer);
      end if;
      -- Aborted, or pending and abandoned: its staged rows go with it (on delete cascade).
      delete from staging.uploads u where u.upload_id = v_previous.upload_id;
    end if;
  end if;

  if p_kind = 'create' then
    if exists (select from public.clients c where lower(c.email) = lower(v_email)) then
      raise exception using errcode = '23505', constraint = 'clients_email_lower_key',
        message = format('a client with email %s already exists', v_email);
    end if;
    if exists (select from public.clients c where c.client_id = v_client_id) then
      raise exception using errcode = '23505', constraint = 'clients_pkey',
        message = format('a client with client_id %s already exists', v_client_id);
    end if;
    if exists (select from public.clients c where c.auth_user_id = coalesce(v_auth_user_id, v_client_id)) then
      raise exception using errcode = '23505', constraint = 'clients_auth_user_id_key',
        message = format('auth_user_id %s already belongs to a client', coalesce(v_auth_user_id, v_client_id));
    end if;
    if exists (select from public.clients c where c.client_id = v_auth_user_id) then
      raise exception using errcode = '23505', constraint = 'clients_identity_distinct',
        message = format('auth_user_id %s is the client_id of another client, whose tokens it would accept',
                         v_auth_user_id);
    end if;
    if exists (select from public.clients c where c.auth_user_id = v_client_id) then
      raise exception using errcode = '23505', constraint = 'clients_identity_distinct',
        message = format('client_id %s is the auth_user_id of another client', v_client_id);
    end if;
  end if;

  begin
    insert into staging.uploads (kind, client_id, table_name, data_type, client, idempotency_key)
    values (p_kind, v_client_id, v_table_name, v_data_type, v_client, p_idempotency_key)
    returning upload_id into v_upload_id;
  exception when unique_violation then
    -- Only the idempotency indexes can collide: another request with this key got in first
    -- and is in flight, the same case as a fresh pending upload above.
    raise exception using errcode = 'PT409', detail = 'in_progress',
      message = format('an upload with Idempotency-Key %s is still in progress', p_idempotency_key),
      hint = format('Retry when it has finished (or after %s s if it was abandoned).',
                    extract(epoch from c_idle_before_restart)::integer);
  end;

  return jsonb_build_object('upload_id', v_upload_id, 'status', 'pending', 'replayed', false,
                            'result', null, 'request_digest', null);
end
$$;

grant execute on function public.begin_upload(text, uuid, text, text, text, jsonb)
  to authenticated, service_role;

-- Adds one batch of rows to a pending upload the caller can see (RLS), in order after the rows
-- already staged; returns how many rows the upload has staged so far. Nothing becomes visible
-- in client_data until commit_upload.
--
-- The upload's row is locked for the call, so batches of one upload are numbered one after the
-- other even when sent concurrently, and a commit or abort waits for a batch in flight.
-- One INSERT … SELECT per batch, whatever its size.
--
-- Errors: 22023 when p_rows is not an array of objects (the message names the batch index, the
-- detail the row's place in the whole upload); PT404 for an upload the caller cannot see;
-- PT409 (HTTP 409) for an upload already committed or aborted.
create function public.stage_upload_rows(p_upload_id uuid, p_rows jsonb)
  returns integer
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_upload record;
  v_added bigint;
begin
  perform private.check_rows_array(p_rows);

  select u.client_id, u.status, u.rows_staged into v_upload
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

  perform private.check_rows(p_rows, v_upload.rows_staged);

  insert into staging.upload_rows (upload_id, client_id, seq, data)
  select p_upload_id, v_upload.client_id, v_upload.rows_staged + e.ord, e.value
    from jsonb_array_elements(p_rows) with ordinality e(value, ord);
  get diagnostics v_added = row_count;

  update staging.uploads u
     set rows_staged = u.rows_staged + v_added
   where u.upload_id = p_upload_id;

  return v_upload.rows_staged + v_added;
end
$$;

grant execute on function public.stage_upload_rows(uuid, jsonb) to authenticated, service_role;

-- Makes an upload's staged rows visible, all together, in one transaction: creates the client
-- (kind 'create'), creates or updates the table's client_schemas row (schema_def, data_type;
-- the schema history trigger records a version when either changed), moves the staged rows into
-- client_data in the order they were staged (ids follow that order; the counts trigger does the
-- counting), and marks the upload committed with its result and p_request_digest, kept for
-- idempotent replays.
--
-- p_schema_def null keeps an existing table's schema ('{}' for a new table). p_data_type null
-- keeps an existing table's data_type; a new table takes the one given to begin_upload.
--
-- Returns what the upload's answer needs, as stored: {client_id, table_name, data_type,
-- schema_def (the table's schema after the commit), rows_stored, row_count, schema_version,
-- created_at (when the rows were stored)}, and for kind 'create' also auth_user_id and
-- client: {client_id, auth_user_id, company_name, email, data_type, created_at}.
--
-- Errors: 22023 for a bad argument; PT404 for an upload (or an appended-to client) the caller
-- cannot see; PT409 for an upload already committed or aborted; 23505 when the new client's
-- email, client_id or auth_user_id was taken meanwhile, and then nothing is stored: the upload
-- stays pending (abort it to discard its rows).
--
-- A committed 'create' upload is kept for ever (for idempotent replays), so the commit strips
-- password_hash from its stored `client`, which would otherwise keep a copy of the new client's
-- hash for as long: the hash lives in clients only. The email stays, because begin_upload
-- matches a replay by email and Idempotency-Key. The check constraint
-- uploads_no_password_hash_once_committed holds every path to that.
create function public.commit_upload(
  p_upload_id uuid,
  p_schema_def jsonb,
  p_data_type text default null,
  p_request_digest text default null
)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_upload record;
  v_client jsonb;
  v_new_client public.clients%rowtype;
  v_constraint text;
  v_message text;
  v_rows_stored bigint;
  v_table record;
  v_version integer;
  v_result jsonb;
begin
  perform private.check_schema_def(p_schema_def);
  perform private.check_data_type(p_data_type);
  if p_request_digest is not null and length(p_request_digest) not between 1 and 255 then
    raise exception using errcode = '22023',
      message = 'the request digest must have 1 to 255 characters';
  end if;

  select u.kind, u.client_id, u.table_name::text, u.data_type::text, u.status into v_upload
    from staging.uploads u
   where u.upload_id = p_upload_id
     for update;
  if not found then
    raise exception using errcode = 'PT404',
      message = format('upload %s not found', p_upload_id),
      hint = 'Start the upload with begin_upload; unfinished uploads are removed after a while.';
  end if;
  if v_upload.status = 'committed' then
    raise exception using errcode = 'PT409',
      message = format('upload %s is already committed', p_upload_id),
      hint = 'begin_upload with the same Idempotency-Key returns its result.';
  end if;
  if v_upload.status <> 'pending' then
    raise exception using errcode = 'PT409',
      message = format('upload %s was aborted; its rows are gone', p_upload_id),
      hint = 'Upload the file again.';
  end if;

  if v_upload.kind = 'create' then
    -- Only service_role ever gets here: RLS hides 'create' uploads from clients, who may not
    -- read this column.
    select u.client into v_client from staging.uploads u where u.upload_id = p_upload_id;
    begin
      insert into public.clients (client_id, company_name, email, password_hash, auth_user_id)
      values (v_upload.client_id, v_client ->> 'company_name', v_client ->> 'email',
              v_client ->> 'password_hash', (v_client ->> 'auth_user_id')::uuid)
      returning * into v_new_client;
    exception when unique_violation then
      get stacked diagnostics v_constraint = constraint_name, v_message = message_text;
      raise exception using errcode = '23505', constraint = v_constraint,
        message = private.client_taken_message(v_constraint, v_message, v_client ->> 'email',
                                               v_upload.client_id, (v_client ->> 'auth_user_id')::uuid),
        hint = 'Nothing was stored; abort the upload to discard its staged rows.';
    end;
  else
    perform private.check_client_visible(v_upload.client_id);
  end if;

  insert into public.client_schemas as s (client_id, table_name, schema_def, data_type)
  values (v_upload.client_id, v_upload.table_name, coalesce(p_schema_def, '{}'::jsonb),
          coalesce(p_data_type, v_upload.data_type))
  on conflict (client_id, table_name) do update
    set schema_def = coalesce(p_schema_def, s.schema_def),
        data_type = coalesce(p_data_type, s.data_type)
    where p_schema_def is not null or p_data_type is not null;

  -- One INSERT … SELECT in staging order (the primary key's order), then the staging is emptied.
  insert into public.client_data (client_id, table_name, data)
  select v_upload.client_id, v_upload.table_name, r.data
    from staging.upload_rows r
   where r.upload_id = p_upload_id
   order by r.seq;
  get diagnostics v_rows_stored = row_count;
  delete from staging.upload_rows r where r.upload_id = p_upload_id;

  select s.data_type::text, s.schema_def, s.row_count into v_table
    from public.client_schemas s
   where s.client_id = v_upload.client_id and s.table_name = v_upload.table_name;
  select max(v.version) into v_version
    from public.client_schema_versions v
   where v.client_id = v_upload.client_id and v.table_name = v_upload.table_name;

  v_result := jsonb_build_object(
    'client_id', v_upload.client_id,
    'table_name', v_upload.table_name,
    'data_type', v_table.data_type,
    'schema_def', v_table.schema_def,
    'rows_stored', v_rows_stored,
    'row_count', v_table.row_count,
    'schema_version', v_version,
    'created_at', pg_catalog.now());

  if v_upload.kind = 'create' then
    v_result := v_result || jsonb_build_object(
      'auth_user_id', v_new_client.auth_user_id,
      'client', jsonb_build_object(
        'client_id', v_new_client.client_id,
        'auth_user_id', v_new_client.auth_user_id,
        'company_name', v_new_client.company_name,
        'email', v_new_client.email,
        'data_type', v_table.data_type,
        'created_at', v_new_client.created_at));
    -- The hash now lives in clients only. (A client may not name this column; only
    -- service_role gets here.)
    update staging.uploads u
       set status = 'committed', result = v_result, request_digest = p_request_digest,
           client = u.client - 'password_hash'
     where u.upload_id = p_upload_id;
  else
    update staging.uploads u
       set status = 'committed', result = v_result, request_digest = p_request_digest
     where u.upload_id = p_upload_id;
  end if;
  return v_result;
end
$$;

grant execute on function public.commit_upload(uuid, jsonb, text, text) to authenticated, service_role;

-- Gives up a pending upload the caller can see: its staged rows are discarded and it becomes
-- 'aborted' (a retry under the same Idempotency-Key starts afresh). Aborting an aborted upload
-- does nothing. Errors: PT404 for an upload the caller cannot see; PT409 for a committed one
-- (its rows are visible already; removing them is a different operation).
create function public.abort_upload(p_upload_id uuid)
  returns void
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_status text;
begin
  select u.status into v_status
    from staging.uploads u
   where u.upload_id = p_upload_id
     for update;
  if not found then
    raise exception using errcode = 'PT404',
      message = format('upload %s not found', p_upload_id);
  end if;
  if v_status = 'committed' then
    raise exception using errcode = 'PT409',
      message = format('upload %s is already committed; it cannot be aborted', p_upload_id);
  end if;

  delete from staging.upload_rows r where r.upload_id = p_upload_id;
  update staging.uploads u
     set status = 'aborted'
   where u.upload_id = p_upload_id and u.status <> 'aborted';
end
$$;

grant execute on function public.abort_upload(uuid) to authenticated, service_role;

-- Removes pending uploads with no activity (no begin, batch or restart) for p_older_than, with
-- their staged rows (on delete cascade): a Worker that died half way through an upload leaves
-- nothing behind for longer than that. Returns how many uploads were removed. Admin only; meant
-- for a scheduled job (the Worker's cron trigger). Committed uploads stay (their results answer
-- idempotent retries), and so do aborted ones (they hold no rows).
create function public.cleanup_abandoned_uploads(p_older_than interval default '1 hour')
  returns integer
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_removed integer;
begin
  if p_older_than is null or p_older_than < interval '0' then
    raise exception using errcode = '22023',
      message = format('older_than %s must be a positive interval', coalesce(p_older_than::text, 'null'));
  end if;
  delete from staging.uploads u
   where u.status = 'pending' and u.updated_at < pg_catalog.now() - p_older_than;
  get diagnostics v_removed = row_count;
  return v_removed;
end
$$;

grant execute on function public.cleanup_abandoned_uploads(interval) to service_role;
