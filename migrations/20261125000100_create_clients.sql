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
create or replace function private.default_auth_user_id()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  new.auth_user_id := coalesce(new.auth_user_id, new.client_id);
  return new;
end
$$;

revoke execute on function private.default_auth_user_id() from public;

create trigger clients_default_auth_user_id
  before insert or update of auth_user_id on public.clients
  for each row execute function private.default_auth_user_id();

create trigger clients_set_updated_at
  before update on public.clients
  for each row execute function private.set_updated_at();

alter table public.clients enable row level security;

-- A client sees its own row only; it never writes it (admin operations run as service_role,
-- which has BYPASSRLS).
create policy clients_select_own on public.clients
  for select to authenticated
  using (auth_user_id = (select auth.uid()));

-- Supabase grants everything on public tables to every API role by default; narrow that down.
revoke all on table public.clients from anon, authenticated;
grant select (client_id, company_name, email, auth_user_id, created_at, updated_at)
  on table public.clients to authenticated;
grant select, insert, update, delete on table public.clients to service_role;

-- The functions that write to an existing client (append_client_data, begin_upload,
-- commit_upload) run as the caller, so RLS hides every client but the caller's own (service_role
-- sees all). An invisible client is reported as not found (PT404 -> HTTP 404), which does not
-- reveal whether it exists; p_hint, when given, tells the caller why.
create or replace function private.check_client_visible(p_client_id uuid, p_hint text default null)
  returns void
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  if exists (select from public.clients c where c.client_id = p_client_id) then
    return;
  end if;
  if p_hint is null then
    raise exception using errcode = 'PT404', message = format('client %s not found', p_client_id);
  end if;
  raise exception using errcode = 'PT404', message = format('client %s not found', p_client_id),
    hint = p_hint;
end
$$;

revoke execute on function private.check_client_visible(uuid, text) from public;
grant execute on function private.check_client_visible(uuid, text) to authenticated, service_role;
