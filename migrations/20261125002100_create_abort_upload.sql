-- Gives up a pending upload the caller can see: its staged rows are discarded and it becomes
-- 'aborted' (a retry under the same Idempotency-Key starts afresh). Aborting an aborted upload
-- does nothing. Errors: PT404 for an upload the caller cannot see; PT409 for a committed one
-- (its rows are visible already; removing them is a different operation).
create or replace function public.abort_upload(p_upload_id uuid)
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

revoke execute on function public.abort_upload(uuid) from public, anon;
grant execute on function public.abort_upload(uuid) to authenticated, service_role;
