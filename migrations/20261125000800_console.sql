-- For the web console (issue 11): the admin's client list, and superadmin accounts that are not
-- the service key, with one credentials lookup that serves the login of both kinds of account.

-- The client list, newest first (created_at desc, then client_id, so pages never overlap), as
-- {clients: [{client_id, company_name, email, created_at, tables: [{table_name, data_type,
-- row_count}], row_count, last_upload_at}], total}. p_search (trimmed; empty means none) keeps
-- the clients whose company name or email contains it, case-insensitively, as plain text (no
-- wildcards). total counts every client that matches, not just the page. row_count is the sum
-- of the tables' maintained counts; last_upload_at the newest stored row's created_at (null for a
-- client without rows). Admin only; never a password hash.
-- Errors: 22023 for p_limit outside 1..500, a negative p_offset or a search over 320 characters
-- (an email's maximum).
create function public.list_clients(
  p_search text default null,
  p_limit integer default 50,
  p_offset integer default 0
)
  returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_search text := lower(nullif(btrim(p_search), ''));
  v_limit integer := coalesce(p_limit, 50);
  v_offset integer := coalesce(p_offset, 0);
  v_total bigint;
  v_clients jsonb;
begin
  if v_limit not between 1 and 500 then
    raise exception using errcode = '22023',
      message = format('limit %s is out of range', v_limit), hint = 'Use 1 to 500 clients per page.';
  end if;
  if v_offset < 0 then
    raise exception using errcode = '22023', message = format('offset %s is negative', v_offset);
  end if;
  if length(v_search) > 320 then
    raise exception using errcode = '22023', message = 'search has more than 320 characters';
  end if;

  select count(*) into v_total
    from public.clients c
   where v_search is null
      or strpos(lower(c.company_name), v_search) > 0
      or strpos(lower(c.email), v_search) > 0;

  select coalesce(jsonb_agg(
           jsonb_build_object(
             'client_id', page.client_id,
             'company_name', page.company_name,
             'email', page.email,
             'created_at', page.created_at,
             'tables', coalesce(t.tables, '[]'::jsonb),
             'row_count', coalesce(t.row_count, 0),
             'last_upload_at', (select max(d.created_at) from public.client_data d
                                 where d.client_id = page.client_id))
           order by page.created_at desc, page.client_id desc), '[]'::jsonb)
    into v_clients
    from (select c.client_id, c.company_name, c.email, c.created_at
            from public.clients c
           where v_search is null
              or strpos(lower(c.company_name), v_search) > 0
              or strpos(lower(c.email), v_search) > 0
           order by c.created_at desc, c.client_id desc
           limit v_limit offset v_offset) page
    left join lateral (
      select jsonb_agg(jsonb_build_object('table_name', s.table_name, 'data_type', s.data_type,
                                          'row_count', s.row_count)
                       order by s.table_name) as tables,
             sum(s.row_count) as row_count
        from public.client_schemas s
       where s.client_id = page.client_id) t on true;

  return jsonb_build_object('clients', v_clients, 'total', v_total);
end
$$;

grant execute on function public.list_clients(text, integer, integer) to service_role;

-- Superadmin accounts that sign in with an email and a password (the console's admins), so the
-- service key never has to be pasted into a browser. In `private`: not reachable over the API
-- at all; service_role reaches it only through the functions below. RLS on with no policy, so
-- no client could read a row even if it were granted the table.
create table private.admin_accounts (
  admin_id      uuid primary key default gen_random_uuid(),
  email         text not null check (length(email) between 3 and 320 and position('@' in email) > 1),
  password_hash text not null check (length(password_hash) between 1 and 1000),
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);

create unique index admin_accounts_email_lower_key on private.admin_accounts (lower(email));

create trigger admin_accounts_set_updated_at
  before update on private.admin_accounts
  for each row execute function private.set_updated_at();

alter table private.admin_accounts enable row level security;

grant select, insert, update, delete on table private.admin_accounts to service_role;

-- An email signs in as one account only: a client's email cannot become an admin's and vice
-- versa (23505, constraint accounts_email_distinct), so the login lookup finds at most one row.
-- Both sides take the same advisory lock (keyed by the lowercased email) before they look, so
-- two transactions cannot each miss the other's uncommitted row. Security invoker: only
-- service_role (and the owner) write either table, and it may read both.
create function private.lock_account_email(p_email text)
  returns void
  language sql
  volatile
  set search_path = ''
as $$
  select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('account email ' || lower(p_email), 0))
$$;

create function private.check_client_email_not_admin()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  perform private.lock_account_email(new.email);
  if exists (select from private.admin_accounts a where lower(a.email) = lower(new.email)) then
    raise exception using errcode = '23505', constraint = 'accounts_email_distinct',
      message = format('%s is the email of an admin account', new.email),
      hint = 'A client and an admin cannot share an email: it signs in as one account.';
  end if;
  return new;
end
$$;

grant execute on function private.lock_account_email(text) to service_role;

create trigger clients_email_not_admin
  before insert or update of email on public.clients
  for each row execute function private.check_client_email_not_admin();

-- Creates an admin account; returns {admin_id, email, created_at}. The caller hashes the
-- password (the Worker verifies it at login, as for clients). Admin only.
-- Errors: 22023 for an email without @ or an empty hash; 23505 when the email (case-
-- insensitively) already belongs to an admin or a client.
create function public.create_admin_account(p_email text, p_password_hash text)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_email text := btrim(p_email);
  v_admin private.admin_accounts%rowtype;
begin
  if v_email is null or position('@' in v_email) < 2 or length(v_email) > 320 then
    raise exception using errcode = '22023',
      message = format('email %L is not an email address', p_email);
  end if;
  if p_password_hash is null or p_password_hash = '' or length(p_password_hash) > 1000 then
    raise exception using errcode = '22023', message = 'password_hash must be 1 to 1000 characters';
  end if;

  perform private.lock_account_email(v_email);
  if exists (select from public.clients c where lower(c.email) = lower(v_email)) then
    raise exception using errcode = '23505', constraint = 'accounts_email_distinct',
      message = format('%s is the email of a client', v_email),
      hint = 'A client and an admin cannot share an email: it signs in as one account.';
  end if;
  begin
    insert into private.admin_accounts (email, password_hash)
    values (v_email, p_password_hash)
    returning * into v_admin;
  exception when unique_violation then
    raise exception using errcode = '23505', constraint = 'admin_accounts_email_lower_key',
      message = format('an admin account with email %s already exists', v_email);
  end;
  return jsonb_build_object('admin_id', v_admin.admin_id, 'email', v_admin.email,
                            'created_at', v_admin.created_at);
end
$$;

grant execute on function public.create_admin_account(text, text) to service_role;

-- The login lookup for both kinds of account (the Worker verifies the password itself): kind
-- 'client' (id = client_id; auth_user_id is the JWT sub that reads the client's data) or 'admin'
-- (id = admin_id = auth_user_id, the sub of a superadmin token). At most one row: emails are
-- unique across both kinds. Case-insensitive, surrounding blanks ignored. Admin only.
create function public.get_login_credentials(p_email text)
  returns table (kind text, id uuid, auth_user_id uuid, password_hash text)
  language sql
  stable
  security invoker
  set search_path = ''
as $$
  select 'client', c.client_id, c.auth_user_id, c.password_hash
    from public.clients c
   where lower(c.email) = lower(btrim(p_email))
  union all
  select 'admin', a.admin_id, a.admin_id, a.password_hash
    from private.admin_accounts a
   where lower(a.email) = lower(btrim(p_email))
$$;

grant execute on function public.get_login_credentials(text) to service_role;
