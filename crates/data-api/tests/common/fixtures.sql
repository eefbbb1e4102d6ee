-- Generic fixtures for the data API's integration tests: one function or table per PostgREST
-- behaviour under test. Applied as postgres after dev/supabase-bootstrap.sql, so the default
-- privileges grant everything to anon/authenticated/service_role unless revoked below.

create function public.add(a integer, b integer) returns integer
  language sql immutable as $$ select a + b $$;

create function public.greet(name text default 'world', punctuation text default '!') returns text
  language sql immutable as $$ select 'hello ' || name || punctuation $$;

create function public.numbers(n integer) returns setof integer
  language sql stable as $$ select generate_series(1, n) $$;

create table public.items (id integer primary key, label text not null check (label <> ''));
insert into public.items values (1, 'one'), (2, 'two'), (3, 'three');

create function public.list_items(min_id integer default 0) returns setof public.items
  language sql stable as $$ select * from public.items where id >= min_id order by id $$;

create function public.item_table() returns table(id integer, label text)
  language sql stable as $$ select id, label from public.items order by id $$;

create function public.first_item() returns public.items
  language sql stable as $$ select * from public.items order by id limit 1 $$;

-- Overloads told apart by argument names.
create function public.describe(n integer) returns text
  language sql immutable as $$ select 'number ' || n $$;
create function public.describe(word text) returns text
  language sql immutable as $$ select 'word ' || word $$;
-- Overloads PostgREST cannot tell apart (same argument name).
create function public.ambiguous(x integer) returns text language sql immutable as $$ select 'int' $$;
create function public.ambiguous(x text) returns text language sql immutable as $$ select 'text' $$;

-- A single unnamed jsonb parameter receives the whole body.
create function public.echo_body(jsonb) returns jsonb
  language sql immutable as $$ select $1 $$;

create function public.returns_json(p jsonb) returns jsonb
  language sql immutable as $$ select jsonb_build_object('got', p) $$;

-- Writes: committed on success, rolled back on error, refused in GET's read-only transaction.
create function public.add_item(p_id integer, p_label text) returns integer
  language sql volatile as $$ insert into public.items values (p_id, p_label) returning id $$;

create function public.add_item_then_fail(p_id integer) returns integer
  language plpgsql volatile as $$
begin
  insert into public.items values (p_id, 'doomed');
  raise exception 'deliberate failure after insert' using errcode = 'P0001', detail = 'the insert must be rolled back';
end $$;

create function public.do_nothing() returns void language sql volatile as $$ select $$;

create function public.raise_custom(p_status text) returns integer
  language plpgsql immutable as $$
begin
  raise exception 'custom status' using errcode = 'PT' || p_status, hint = 'raised on purpose';
end $$;

create function public.divide(a integer, b integer) returns integer
  language sql immutable as $$ select a / b $$;

create function public.takes_uuid(p_id uuid) returns uuid language sql immutable as $$ select p_id $$;

-- Only for service_role (42501 for others).
create function public.admin_only() returns text language sql stable as $$ select 'secret' $$;
revoke execute on function public.admin_only() from public, anon, authenticated;

-- What the request settings look like from SQL.
create function public.whoami() returns jsonb
  language sql stable as $$
  select jsonb_build_object(
    'current_user', current_user,
    'role', auth.role(),
    'uid', auth.uid(),
    'method', current_setting('request.method', true),
    'path', current_setting('request.path', true),
    'x_custom', current_setting('request.headers', true)::jsonb ->> 'x-custom',
    'read_only', current_setting('transaction_read_only'),
    'claims', auth.jwt()
  ) $$;

-- RLS driven by the JWT's sub, as Supabase projects use it.
create table public.notes (id serial primary key, owner uuid not null, body text not null);
alter table public.notes enable row level security;
create policy notes_owner on public.notes for all to authenticated
  using (owner = auth.uid()) with check (owner = auth.uid());
insert into public.notes (owner, body) values
  ('00000000-0000-0000-0000-00000000000a', 'a1'),
  ('00000000-0000-0000-0000-00000000000a', 'a2'),
  ('00000000-0000-0000-0000-00000000000b', 'b1');

create function public.my_notes() returns setof public.notes
  language sql stable security invoker as $$ select * from public.notes order by id $$;

-- JSON paths, nulls and text that needs quoting in CSV, for the read modifiers.
create table public.docs (id integer primary key, data jsonb not null, note text);
insert into public.docs values
  (1, '{"a": 1, "b": {"c": "x"}}', null),
  (2, '{"a": 2, "b": {"c": "y"}}', 'second, with a comma'),
  (3, '{"b": {"c": "z"}}', 'third');
create function public.list_docs() returns setof public.docs
  language sql stable as $$ select * from public.docs order by id $$;

-- A view read like a table (security_invoker: the caller's privileges and RLS apply).
create view public.item_labels with (security_invoker = true) as
  select id, upper(label) as label from public.items;

-- Column-level grants: `secret` is not readable by anon/authenticated.
create table public.accounts (id integer primary key, name text not null, secret text not null);
insert into public.accounts values (1, 'first', 's1'), (2, 'second', 's2');
revoke all on public.accounts from anon, authenticated;
grant select (id, name) on public.accounts to anon, authenticated;

-- How many prepared statements the serving connection holds (the data API's statement cache).
create function public.prepared_statement_count() returns bigint
  language sql volatile as $$ select count(*) from pg_prepared_statements $$;
