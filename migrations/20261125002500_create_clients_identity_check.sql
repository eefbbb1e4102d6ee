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
create or replace function private.check_client_identity_distinct()
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

revoke execute on function private.check_client_identity_distinct() from public;

-- Clients that already break the rule stop the migration instead of staying ambiguous.
do $$
begin
  if exists (select from public.clients a
               join public.clients b on b.client_id <> a.client_id and b.client_id = a.auth_user_id) then
    raise exception using errcode = '23505',
      message = 'some client''s auth_user_id is another client''s client_id; resolve that before this migration';
  end if;
end
$$;

create constraint trigger clients_identity_distinct
  after insert or update of client_id, auth_user_id on public.clients
  not deferrable
  for each row execute function private.check_client_identity_distinct();
