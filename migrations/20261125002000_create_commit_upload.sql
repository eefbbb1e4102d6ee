-- Makes an upload's staged rows visible, all together, in one transaction: creates the client
-- (kind 'create'), creates or updates the table's client_schemas row (schema_def, data_type;
-- the schema history trigger records a version when either changed), moves the staged rows into
-- client_data in the order they were staged (ids follow that order; the counts trigger does the
-- counting), and marks the upload committed with its result, kept for idempotent replays.
--
-- p_schema_def null keeps an existing table's schema ('{}' for a new table). p_data_type null
-- keeps an existing table's data_type; a new table takes the one given to begin_upload.
--
-- Errors: 22023 for a bad argument; PT404 for an upload (or an appended-to client) the caller
-- cannot see; PT409 for an upload already committed or aborted; 23505 when the new client's
-- email, client_id or auth_user_id was taken meanwhile, and then nothing is stored: the upload
-- stays pending (abort it to discard its rows).
-- A unique violation it does not name itself (clients_identity_distinct, raised by the clients
-- trigger of 20261125002500) keeps that trigger's message.
--
-- A committed 'create' upload is kept for ever (for idempotent replays), so the commit strips
-- password_hash from its stored `client`, which would otherwise keep a copy of the new client's
-- hash for as long: the hash lives in clients only. The email stays, because begin_upload
-- matches a replay by email and Idempotency-Key. The check constraint
-- uploads_no_password_hash_once_committed (20261125001600) holds every path to that.
create or replace function public.commit_upload(
  p_upload_id uuid,
  p_schema_def jsonb,
  p_data_type text default null
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
  v_auth_user_id uuid;
  v_constraint text;
  v_message text;
  v_rows_stored bigint;
  v_table record;
  v_version integer;
  v_result jsonb;
begin
  if p_schema_def is not null and jsonb_typeof(p_schema_def) <> 'object' then
    raise exception using errcode = '22023', message = 'schema_def must be a JSON object';
  end if;
  perform private.check_data_type(p_data_type);

  select u.kind, u.client_id, u.table_name, u.data_type, u.status into v_upload
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
      returning auth_user_id into v_auth_user_id;
    exception when unique_violation then
      get stacked diagnostics v_constraint = constraint_name, v_message = message_text;
      raise exception using errcode = '23505',
        message = case v_constraint
          when 'clients_email_lower_key' then format('a client with email %s already exists', v_client ->> 'email')
          when 'clients_pkey' then format('a client with client_id %s already exists', v_upload.client_id)
          when 'clients_auth_user_id_key' then format('auth_user_id %s already belongs to a client', v_client ->> 'auth_user_id')
          else v_message
        end,
        constraint = v_constraint,
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

  select s.data_type, s.row_count into v_table
    from public.client_schemas s
   where s.client_id = v_upload.client_id and s.table_name = v_upload.table_name;
  select max(v.version) into v_version
    from public.client_schema_versions v
   where v.client_id = v_upload.client_id and v.table_name = v_upload.table_name;

  v_result := jsonb_build_object(
    'client_id', v_upload.client_id,
    'table_name', v_upload.table_name,
    'data_type', v_table.data_type,
    'rows_stored', v_rows_stored,
    'row_count', v_table.row_count,
    'schema_version', v_version);
  if v_upload.kind = 'create' then
    v_result := v_result || jsonb_build_object('auth_user_id', v_auth_user_id);
  end if;

  if v_upload.kind = 'create' then
    -- The hash now lives in clients only. (A client may not name this column; only
    -- service_role gets here.)
    update staging.uploads u
       set status = 'committed', result = v_result, client = u.client - 'password_hash'
     where u.upload_id = p_upload_id;
  else
    update staging.uploads u
       set status = 'committed', result = v_result
     where u.upload_id = p_upload_id;
  end if;
  return v_result;
end
$$;

revoke execute on function public.commit_upload(uuid, jsonb, text) from public, anon;
grant execute on function public.commit_upload(uuid, jsonb, text) to authenticated, service_role;
