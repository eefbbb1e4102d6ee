-- Login lookup for the Worker (which verifies the password itself). Service role only: this is
-- the one path that returns password_hash, which no client can read.
create or replace function public.get_client_credentials(p_email text)
  returns table (client_id uuid, auth_user_id uuid, password_hash text)
  language sql
  stable
  security invoker
  set search_path = ''
as $$
  select c.client_id, c.auth_user_id, c.password_hash
    from public.clients c
   where lower(c.email) = lower(btrim(p_email))
$$;

revoke execute on function public.get_client_credentials(text) from public, anon, authenticated;
grant execute on function public.get_client_credentials(text) to service_role;
