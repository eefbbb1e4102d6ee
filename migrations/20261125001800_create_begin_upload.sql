-- Starts an upload (see staging.uploads): returns {upload_id, status, replayed, result}.
--
-- p_kind 'create': a new client, described by p_client = {company_name, email, password_hash?,
--   auth_user_id?}, with the client_id the Worker chose (null -> a new one); admin only, checked
--   as the right to insert clients. A taken email, client_id or auth_user_id is refused here
--   already (23505), so a doomed upload stops before its rows are sent; commit checks again. So
--   is an auth_user_id that is another client's client_id, or a client_id that is another
--   client's auth_user_id (23505, clients_identity_distinct), which the clients trigger of
--   20261125002500 would refuse at commit.
-- p_kind 'append': an existing client the caller can see (RLS), else not found (PT404).
-- p_table_name null -> client_{first 8 hex of client_id}_{data_type}.
--
-- Idempotency-Key (p_idempotency_key, scoped to the client, or to the email for 'create'):
--   already committed for the same table -> replayed: true with the stored result, and nothing
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
create or replace function public.begin_upload(
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
      select u.upload_id, u.status, u.result, u.client_id, u.table_name, u.updated_at into v_previous
        from staging.uploads u
       where u.kind = 'append' and u.client_id = v_client_id and u.idempotency_key = p_idempotency_key
         for update;
    else
      select u.upload_id, u.status, u.result, u.client_id, u.table_name, u.updated_at into v_previous
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
                                  'replayed', true, 'result', v_previous.result);
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
                            'result', null);
end
$$;

revoke execute on function public.begin_upload(text, uuid, text, text, text, jsonb) from public, anon;
grant execute on function public.begin_upload(text, uuid, text, text, text, jsonb)
  to authenticated, service_role;
