-- Tenants. A client is identified by the JWT `sub`, matched against auth_user_id. auth_user_id
-- defaults to client_id (so a password client's login token can carry its own id) but may point
-- at a Supabase Auth user instead.
create table public.clients (
  client_id     uuid primary key default gen_random_uuid(),
  company_name  text not null check (length(btrim(company_name)) between 1 and 200),
  email         text not null check (length(email) between 3 and 320 and position('@' in email) > 1),
  password_hash text,
  auth_user_id  uuid not null,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  constraint clients_auth_user_id_key unique (auth_user_id)
);

-- Email is unique case-insensitively: `A@x.com` and `a@x.com` are the same login.
create unique index clients_email_lower_key on public.clients (lower(email));

comment on column public.clients.auth_user_id is
  'JWT sub that identifies this client; defaults to client_id (set by trigger).';
comment on column public.clients.password_hash is
  'Never readable by clients: the column-level grants to authenticated leave it out.';

-- A column default cannot refer to another column, so the default for auth_user_id is a trigger.
-- BEFORE triggers run before NOT NULL is checked, so the column can stay NOT NULL.
create function private.default_auth_user_id()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  new.auth_user_id := coalesce(new.auth_user_id, new.client_id);
  return new;
end
$$;

create trigger clients_default_auth_user_id
  before insert or update of auth_user_id on public.clients
  for each row execute function private.default_auth_user_id();

create trigger clients_set_updated_at
  before update on public.clients
  for each row execute function private.set_updated_at();

-- A JWT `sub` must name one client only. It is matched against auth_user_id, and auth_user_id
-- defaults to client_id, so a client's client_id is (or may become) a login identity as well:
-- the unique constraints on client_id and on auth_user_id alone do not stop a new client whose
-- auth_user_id is client D's client_id (D's default auth_user_id), which would then answer to
-- D's tokens. This trigger refuses an auth_user_id equal to another client's client_id and a
-- client_id equal to another client's auth_user_id, with 23505 like the unique constraints
-- (constraint name clients_identity_distinct), on every path that writes clients.
--
-- Not deferrable: it fires at the end of the INSERT/UPDATE statement, so the functions that
-- catch unique_violation around their INSERT (create_client_with_data, commit_upload) catch it.
-- Security invoker: only service_role (which bypasses RLS) and the owner write clients, so the
-- lookups see every client. The advisory locks (keyed by the two ids) serialize two
-- transactions that would otherwise each miss the other's uncommitted row.
create function private.check_client_identity_distinct()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
declare
  v_other uuid;
begin
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(new.client_id::text, 0));
  if new.auth_user_id <> new.client_id then
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(new.auth_user_id::text, 0));
  end if;

  select c.client_id into v_other
    from public.clients c
   where c.client_id = new.auth_user_id and c.client_id <> new.client_id;
  if found then
    raise exception using errcode = '23505', constraint = 'clients_identity_distinct',
      message = format('auth_user_id %s is the client_id of another client, whose tokens it would accept',
                       new.auth_user_id),
      hint = 'Leave auth_user_id empty (it defaults to the client_id) or use the id of a Supabase Auth user.';
  end if;

  select c.client_id into v_other
    from public.clients c
   where c.auth_user_id = new.client_id and c.client_id <> new.client_id;
  if found then
    raise exception using errcode = '23505', constraint = 'clients_identity_distinct',
      message = format('client_id %s is the auth_user_id of client %s', new.client_id, v_other),
      hint = 'Choose another client_id (or leave it empty for a new one).';
  end if;
  return null;
end
$$;

create constraint trigger clients_identity_distinct
  after insert or update of client_id, auth_user_id on public.clients
  not deferrable
  for each row execute function private.check_client_identity_distinct();

alter table public.clients enable row level security;

-- A client sees its own row only; it never writes it (admin operations run as service_role,
-- which has BYPASSRLS).
create policy clients_select_own on public.clients
  for select to authenticated
  using (auth_user_id = (select auth.uid()));

-- No TRUNCATE, REFERENCES or TRIGGER for anyone: TRUNCATE skips row triggers and cascades.
grant select (client_id, company_name, email, auth_user_id, created_at, updated_at)
  on table public.clients to authenticated;
grant select, insert, update, delete on table public.clients to service_role;

-- Every function that takes a client_id checks it with this first. They run as the caller, so
-- RLS hides every client but the caller's own (service_role sees all). An invisible client is
-- reported as not found (PT404 -> HTTP 404), the same answer as for an id that does not exist,
-- so ids cannot be probed; p_hint, when given, tells the caller why.
create function private.check_client_visible(p_client_id uuid, p_hint text default null)
  returns void
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  if exists (select from public.clients c where c.client_id = p_client_id) then
    return;
  end if;
  raise exception using errcode = 'PT404', message = 'client not found',
    hint = coalesce(p_hint, 'No client with this id is visible to the caller.');
end
$$;

grant execute on function private.check_client_visible(uuid, text) to authenticated, service_role;
