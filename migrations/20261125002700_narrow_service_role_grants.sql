-- service_role kept Supabase's default privileges on clients, client_schemas and client_data's
-- identity sequence: TRUNCATE (which skips row triggers and cascades), REFERENCES, TRIGGER, and
-- on the sequence USAGE/SELECT/UPDATE, so one `setval` would make every later insert collide
-- with existing ids. Narrowed to what the admin functions (and an operator's plain SQL) need,
-- as client_data already is.
revoke all on table public.clients from service_role;
grant select, insert, update, delete on table public.clients to service_role;

-- row_count and data_stored are derived (the counts triggers write them, as the table owner), so
-- service_role may name neither: an UPDATE could set a count, and an INSERT could start one at
-- any value. updated_at is the set_updated_at trigger's.
revoke all on table public.client_schemas from service_role;
grant select, delete on table public.client_schemas to service_role;
grant insert (client_id, table_name, schema_def, data_type) on table public.client_schemas
  to service_role;
grant update (schema_def, data_type) on table public.client_schemas to service_role;

-- Inserts draw ids through the identity column, which needs no privilege on the sequence.
revoke all on sequence public.client_data_id_seq from service_role;
