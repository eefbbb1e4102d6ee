-- private.query_columns and private.query_timestamp after 20261203150000_query_helpers_plpgsql:
-- PL/pgSQL (their plans kept per session), still security invoker with an empty search_path, the
-- same answers for every spelling the query language accepts or refuses, and callable by the
-- two tenants alike but not by anon (the grants CREATE OR REPLACE kept). And
-- private.query_resolve_table, now one statement on client_schemas for a read naming no table.
begin;
select plan(17);
\ir _query_fixtures.psql

select is((select array_agg(p.proname::text || ':' || l.lanname order by p.proname)
             from pg_proc p join pg_language l on l.oid = p.prolang
            where p.pronamespace = 'private'::regnamespace and p.proname in ('query_columns', 'query_timestamp')),
          array['query_columns:plpgsql', 'query_timestamp:plpgsql'], 'both helpers are PL/pgSQL');
select is((select count(*)::int from pg_proc p
            where p.pronamespace = 'private'::regnamespace and p.proname in ('query_columns', 'query_timestamp')
              and not p.prosecdef and 'search_path=""' = any(p.proconfig) and p.provolatile = 'i'),
          2, 'security invoker, search_path empty, immutable');

-- query_timestamp: every accepted spelling in UTC, every refused one null
select pg_temp.act_as('authenticated', :'sub_a');
select is(private.query_timestamp('2024-01-15'), timestamp '2024-01-15 00:00', 'a date');
select is(private.query_timestamp('2024-01-15T10:30:00Z'), timestamp '2024-01-15 10:30', 'Z');
select is(private.query_timestamp('2024-02-01 08:00:00+02:00'), timestamp '2024-02-01 06:00', 'an offset, space separated');
select is(private.query_timestamp('2024-03-01T12:00-0300'), timestamp '2024-03-01 15:00', 'minutes only, offset without colon');
select is(private.query_timestamp('2024-02-10T00:00:00.123456'), timestamp '2024-02-10 00:00:00.123456', 'no zone, microseconds');
select is(private.query_timestamp('2024-02-29'), timestamp '2024-02-29', 'a leap day');
select is(array[private.query_timestamp('2025-02-29'), private.query_timestamp('2024-04-31'),
                private.query_timestamp('0000-01-01'), private.query_timestamp('2024-13-01'),
                private.query_timestamp('2024-01-15T24:00'), private.query_timestamp('soon'),
                private.query_timestamp('2024-01-15'' or true --')],
          array[null, null, null, null, null, null, null]::timestamp[],
          'days that do not exist, year 0, month 13, hour 24, words and injected text: null, never an error');
select is(private.query_timestamp(null), null, 'strict: null in, null out');

-- query_columns: the ingest's shape in its order, the old flat shape by key
select is(private.query_columns('{"columns": [{"key": "b", "name": "B b", "type": "number"}, {"key": "a"}, 7, {"name": "no key"}]}'),
          '[{"key": "b", "name": "B b", "type": "number", "semantic_type": null},
            {"key": "a", "name": "a", "type": "string", "semantic_type": null}]'::jsonb,
          'columns in order, name and type defaulted, entries without a key left out');
select is(private.query_columns('{"z": "number", "a": "string", "n": 1}'),
          '[{"key": "a", "name": "a", "type": "string", "semantic_type": null},
            {"key": "z", "name": "z", "type": "number", "semantic_type": null}]'::jsonb,
          'a flat {key: type} schema by key, non-text types left out');

select pg_temp.act_as('authenticated', :'sub_b');
select is(private.query_columns('{"columns": []}'), '[]'::jsonb, 'tenant B calls it too (no data is read)');

-- query_resolve_table with no table named: B's one table, A's several refused with their names
select is((private.query_resolve_table(:'client_b', null, true)).table_name, 'client_22222222_data',
          'a client with one table reads it without naming it');
select pg_temp.act_as('authenticated', :'sub_a');
select throws_ok(format('select private.query_resolve_table(%L, null, true)', :'client_a'), 'PT400',
                 'this client has several tables: name one with table', 'several tables: table_required');
select is((private.query_resolve_table(:'client_b', null, false)).table_name, null,
          'as A, B''s tables are not there to resolve (RLS), nothing from B');

select pg_temp.act_as('anon');
select throws_ok($$select private.query_timestamp('2024-01-15')$$, '42501', null, 'anon may not call the helpers');

select * from finish();
rollback;
