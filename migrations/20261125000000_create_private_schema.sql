-- Schema `private` holds helpers that must never be reachable over the API: PostgREST only
-- exposes the schemas listed in its config (public on Supabase), and no API role gets USAGE here.
-- Trigger functions live here because triggers fire without an EXECUTE check, so nobody needs a
-- grant to make them run, and nobody can call them directly.
create schema if not exists private;
revoke all on schema private from public;

-- Keeps updated_at honest on every UPDATE, whatever the statement said.
create or replace function private.set_updated_at()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end
$$;

revoke execute on function private.set_updated_at() from public;
