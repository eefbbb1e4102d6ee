-- Per client and table: the stored counts next to the real count, to spot drift at a glance.
-- security_invoker = true: a plain view runs with its owner's rights, which bypass RLS, and would
-- show every tenant to every client. As invoker, each caller sees only what RLS lets it see.
create view public.client_data_summary
  with (security_invoker = true)
as
select c.client_id,
       c.company_name,
       c.email,
       s.table_name,
       s.data_type,
       s.data_stored,
       s.row_count,
       (select count(*)
          from public.client_data d
         where d.client_id = s.client_id and d.table_name = s.table_name) as actual_row_count,
       s.updated_at
  from public.clients c
  join public.client_schemas s on s.client_id = c.client_id;

revoke all on table public.client_data_summary from anon, authenticated, service_role;
grant select on table public.client_data_summary to authenticated, service_role;
