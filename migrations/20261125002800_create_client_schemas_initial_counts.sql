-- A client_schemas row that is created while its table already has rows in client_data starts
-- from the real count, not from 0 or from the rows of the statement at hand. This happens when
-- an admin deleted the row but not the data: append_client_data and commit_upload then create
-- the row anew (count 0) before inserting, and a bare INSERT makes the counts trigger create it
-- with just that statement's rows; either way row_count stayed short of the real count forever.
--
-- A BEFORE INSERT trigger covers every path that creates the row, the counts trigger's upsert
-- included: when the row exists already the INSERT is about to conflict, so the values are left
-- as given (the upsert then adds its delta) and no count is run; only a new row pays for a
-- count(*), over an index range that is empty unless rows were orphaned.
--
-- Security invoker: every role that may insert here can read the rows it counts (a client only
-- its own, and RLS admits its own client_id only; service_role and the counts trigger all rows).
-- Remaining inexactness: two transactions that concurrently create the row of a table that had
-- orphaned rows both count those rows (the second one's upsert adds its count).
create or replace function private.start_client_schema_counts()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if exists (select from public.client_schemas s
              where s.client_id = new.client_id and s.table_name = new.table_name) then
    return new;
  end if;
  select count(*) into new.row_count
    from public.client_data d
   where d.client_id = new.client_id and d.table_name = new.table_name;
  new.data_stored := new.row_count > 0;
  return new;
end
$$;

revoke execute on function private.start_client_schema_counts() from public;

create trigger client_schemas_start_counts
  before insert on public.client_schemas
  for each row execute function private.start_client_schema_counts();
