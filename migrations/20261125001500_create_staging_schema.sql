-- Schema `staging` holds uploads in progress (issue 5). It is not an exposed schema (PostgREST
-- serves `public` only), so its tables are reachable solely through the upload functions in
-- public, which run as the caller (security invoker) and so need the API roles to have USAGE
-- here; RLS and column grants on each table then decide what a caller may touch.
-- Supabase's default grants are for `public` only, so nothing here is granted unless said so.
create schema if not exists staging;
revoke all on schema staging from public;
grant usage on schema staging to authenticated, service_role;
