-- Deletes a client and everything it owns: its rows (client_data), tables (client_schemas) and
-- their schema versions go by `on delete cascade`; its uploads in staging (which do not
-- reference clients, since a 'create' upload exists before its client) are removed here, staged
-- rows with them. Admin only: the Worker's DELETE /api/superadmin/clients/{client_id}.
-- Errors: PT404 when there is no such client (a repeated DELETE says so instead of succeeding
-- silently, so an operator with a wrong id notices).
create or replace function public.delete_client(p_client_id uuid)
  returns void
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  if p_client_id is null then
    raise exception using errcode = '22023', message = 'client_id must not be null';
  end if;
  delete from public.clients c where c.client_id = p_client_id;
  if not found then
    raise exception using errcode = 'PT404',
      message = format('client %s not found', p_client_id);
  end if;
  delete from staging.uploads u where u.client_id = p_client_id;
end
$$;

revoke execute on function public.delete_client(uuid) from public, anon, authenticated;
grant execute on function public.delete_client(uuid) to service_role;
