-- Removes pending uploads with no activity (no begin, batch or restart) for p_older_than, with
-- their staged rows (on delete cascade): a Worker that died half way through an upload leaves
-- nothing behind for longer than that. Returns how many uploads were removed. Admin only; meant
-- for a scheduled job. Committed uploads stay (their results answer idempotent retries), and so
-- do aborted ones (they hold no rows).
create or replace function public.cleanup_abandoned_uploads(p_older_than interval default '1 hour')
  returns integer
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_removed integer;
begin
  if p_older_than is null or p_older_than < interval '0' then
    raise exception using errcode = '22023',
      message = format('older_than %s must be a positive interval', coalesce(p_older_than::text, 'null'));
  end if;
  delete from staging.uploads u
   where u.status = 'pending' and u.updated_at < pg_catalog.now() - p_older_than;
  get diagnostics v_removed = row_count;
  return v_removed;
end
$$;

revoke execute on function public.cleanup_abandoned_uploads(interval) from public, anon, authenticated;
grant execute on function public.cleanup_abandoned_uploads(interval) to service_role;
