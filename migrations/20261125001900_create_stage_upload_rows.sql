-- Adds one batch of rows to a pending upload the caller can see (RLS), in order after the rows
-- already staged; returns how many rows the upload has staged so far. Nothing becomes visible
-- in client_data until commit_upload.
--
-- The upload's row is locked for the call, so batches of one upload are numbered one after the
-- other even when sent concurrently, and a commit or abort waits for a batch in flight.
-- One INSERT … SELECT per batch, whatever its size.
--
-- Errors: 22023 when p_rows is not an array of objects (the message names the batch index, the
-- detail the row's place in the whole upload); PT404 for an upload the caller cannot see;
-- PT409 (HTTP 409) for an upload already committed or aborted.
create or replace function public.stage_upload_rows(p_upload_id uuid, p_rows jsonb)
  returns integer
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
declare
  v_upload record;
  v_added bigint;
begin
  perform private.check_rows_array(p_rows);

  select u.client_id, u.status, u.rows_staged into v_upload
    from staging.uploads u
   where u.upload_id = p_upload_id
     for update;
  if not found then
    raise exception using errcode = 'PT404',
      message = format('upload %s not found', p_upload_id),
      hint = 'Start the upload with begin_upload; unfinished uploads are removed after a while.';
  end if;
  if v_upload.status <> 'pending' then
    raise exception using errcode = 'PT409',
      message = format('upload %s is %s; only a pending upload accepts rows', p_upload_id, v_upload.status);
  end if;

  perform private.check_rows(p_rows, v_upload.rows_staged);

  insert into staging.upload_rows (upload_id, client_id, seq, data)
  select p_upload_id, v_upload.client_id, v_upload.rows_staged + e.ord, e.value
    from jsonb_array_elements(p_rows) with ordinality e(value, ord);
  get diagnostics v_added = row_count;

  update staging.uploads u
     set rows_staged = u.rows_staged + v_added
   where u.upload_id = p_upload_id;

  return v_upload.rows_staged + v_added;
end
$$;

revoke execute on function public.stage_upload_rows(uuid, jsonb) from public, anon;
grant execute on function public.stage_upload_rows(uuid, jsonb) to authenticated, service_role;
