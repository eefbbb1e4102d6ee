-- cargo xtask bench --scale: the rows, generated in PostgreSQL (never through the API).
-- psql variables: rows (total), clients (small clients), big (rows of the big client).
-- The big client is b5ca1e00-0000-4000-8000-000000000000; small client g is
-- b5ca1e00-0000-4000-8000-{g as 12 digits}. Every table is `bench` with the same typed columns:
--   n integer (1..rows of the client, file order), code string (10,000 values: one is 0.01 %),
--   price number (0.00..999.99, uniform: a 10-wide range is 1 %), region string (10 values),
--   day date, flag boolean.
\set ON_ERROR_STOP 1
select (:rows - :big) / greatest(:clients, 1) as per_client \gset

insert into public.clients (client_id, company_name, email)
select ('b5ca1e00-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'Bench ' || g, 'bench' || g || '@bench.example'
  from generate_series(0, :clients) g;

insert into public.client_schemas (client_id, table_name, data_type, schema_def)
select c.client_id, 'bench', 'bench', $json${"version": 1, "format": "delimited", "columns": [
         {"key": "n", "name": "N", "type": "integer"},
         {"key": "code", "name": "Code", "type": "string"},
         {"key": "price", "name": "Price", "type": "number"},
         {"key": "region", "name": "Region", "type": "string"},
         {"key": "day", "name": "Day", "type": "date"},
         {"key": "flag", "name": "Flag", "type": "boolean"}]}$json$::jsonb
  from public.clients c where c.email like 'bench%@bench.example';

-- One statement per client: the counts triggers aggregate one transition table each, and a
-- failure names the client.
create function pg_temp.load_client(p_client uuid, p_rows integer) returns void language sql as $$
  insert into public.client_data (client_id, table_name, data, created_at)
  select p_client, 'bench',
         jsonb_build_object('n', g,
                            'code', 'c' || lpad(((g::bigint * 7919) % 10000)::text, 5, '0'),
                            'price', ((g::bigint * 104729) % 100000) / 100.0,
                            'region', 'region-' || (g % 10),
                            'day', (date '2020-01-01' + (g % 1461))::text,
                            'flag', g % 2 = 0),
         timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
    from generate_series(1, p_rows) g
$$;
select pg_temp.load_client('b5ca1e00-0000-4000-8000-000000000000', :big);
select count(pg_temp.load_client(('b5ca1e00-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, :per_client))
  from generate_series(1, :clients) g;
