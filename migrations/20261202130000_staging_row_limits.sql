-- Staged rows keep the row limits themselves (issue 9, the data API as a second door).
-- stage_upload_rows checks each batch (naming the row and column), and commit_upload's insert
-- into client_data meets client_data_row_limits; but authenticated holds INSERT on
-- staging.upload_rows (the functions are security invoker), so a row inserted there by any
-- other path could hold a 2 MiB cell or 600 columns until the upload is aborted or cleaned up.
-- The same check as client_data's makes the table refuse it. The staging schema is not exposed
-- by the data API (only public is), so this is a second line, not the first.
alter table staging.upload_rows
  add constraint upload_rows_row_limits check (private.row_within_limits(data));
