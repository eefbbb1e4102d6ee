-- client_schemas.row_count and .data_stored are kept true by the database, whatever path writes
-- client_data: the RPC functions, a direct INSERT through the API, the seed's legacy
-- `insert into client_data … select … from data_uploads`, or an admin's DELETE.
--
-- Statement-level triggers with transition tables: one grouped UPDATE/UPSERT per statement
-- instead of one per row, so a bulk load of 100k rows costs one aggregate, not 100k updates.
--
-- SECURITY DEFINER, on purpose: the counts are derived data that clients must not be able to
-- forge, so authenticated has no privilege on row_count/data_stored; this function (owned by
-- the migration owner) is the only writer. It lives in `private` with EXECUTE revoked, so it can
-- only run as a trigger, and it only ever writes counts for the rows the statement touched.
create or replace function private.sync_client_schema_counts()
  returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    -- Creates the client_schemas row when a path inserted data without one.
    insert into public.client_schemas as s (client_id, table_name, row_count, data_stored)
    select n.client_id, n.table_name, count(*), true
      from new_rows n
     group by n.client_id, n.table_name
    on conflict (client_id, table_name) do update
      set row_count = s.row_count + excluded.row_count,
          data_stored = s.row_count + excluded.row_count > 0;
  elsif tg_op = 'DELETE' then
    update public.client_schemas s
       set row_count = greatest(s.row_count - d.n, 0),
           data_stored = s.row_count - d.n > 0
      from (select o.client_id, o.table_name, count(*) as n
              from old_rows o
             group by o.client_id, o.table_name) d
     where s.client_id = d.client_id and s.table_name = d.table_name;
  elsif tg_op = 'UPDATE' then
    -- Only a change of client_id or table_name moves counts: the net change per group is taken
    -- from the groups rows left and added (upserted) to the groups rows joined. The two sets of
    -- groups are disjoint, so the CTE's UPDATE and the INSERT never touch the same row.
    with moves as (
      select m.client_id, m.table_name, sum(m.delta) as delta
        from (select n.client_id, n.table_name, 1 as delta from new_rows n
              union all
              select o.client_id, o.table_name, -1 from old_rows o) m
       group by m.client_id, m.table_name
      having sum(m.delta) <> 0
    ), left_groups as (
      update public.client_schemas s
         set row_count = greatest(s.row_count + g.delta, 0),
             data_stored = s.row_count + g.delta > 0
        from moves g
       where g.delta < 0 and s.client_id = g.client_id and s.table_name = g.table_name
    )
    insert into public.client_schemas as s (client_id, table_name, row_count, data_stored)
    select g.client_id, g.table_name, g.delta, true
      from moves g
     where g.delta > 0
    on conflict (client_id, table_name) do update
      set row_count = s.row_count + excluded.row_count,
          data_stored = true;
  elsif tg_op = 'TRUNCATE' then
    update public.client_schemas
       set row_count = 0, data_stored = false
     where row_count <> 0 or data_stored;
  end if;
  return null;
end
$$;

revoke execute on function private.sync_client_schema_counts() from public;

create trigger client_data_count_insert
  after insert on public.client_data
  referencing new table as new_rows
  for each statement execute function private.sync_client_schema_counts();

create trigger client_data_count_delete
  after delete on public.client_data
  referencing old table as old_rows
  for each statement execute function private.sync_client_schema_counts();

-- (PostgreSQL allows no column list on a trigger with transition tables, hence every UPDATE.)
create trigger client_data_count_update
  after update on public.client_data
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.sync_client_schema_counts();

create trigger client_data_count_truncate
  after truncate on public.client_data
  for each statement execute function private.sync_client_schema_counts();
