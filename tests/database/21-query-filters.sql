-- query_client_data filters: each operator on each column type, typed comparisons (1957 =
-- 1957.0, Yes = true, dates as timestamps across zones), fields by key or header text, and
-- not/and/or nesting. The table and its hand-checked answers are in _query_fixtures.psql.
begin;
select plan(50);
\ir _query_fixtures.psql

select pg_temp.act_as('authenticated', :'sub_a');

-- integer / number: numeric comparison
select is(pg_temp.cars('{"field": "year", "op": "eq", "value": "1957"}'), 'r1,r2', 'integer eq: 1957 matches 1957 and 1957.0');
select is(pg_temp.cars('{"field": "year", "op": "eq", "value": "1957.0"}'), 'r1,r2', 'integer eq: 1957.0 matches both too');
select is(pg_temp.cars('{"field": "year", "op": "neq", "value": "1957"}'), 'r3,r4,r6', 'integer neq (a missing value is not "not equal")');
select is(pg_temp.cars('{"field": "year", "op": "gt", "value": "1990"}'), 'r4,r6', 'integer gt');
select is(pg_temp.cars('{"field": "year", "op": "gte", "value": "1990"}'), 'r3,r4,r6', 'integer gte');
select is(pg_temp.cars('{"field": "year", "op": "lt", "value": "1990"}'), 'r1,r2', 'integer lt');
select is(pg_temp.cars('{"field": "year", "op": "lte", "value": "1.99e3"}'), 'r1,r2,r3', 'integer lte, exponent notation');
select is(pg_temp.cars('{"field": "year", "op": "in", "value": ["2001", "1990.0", "1800"]}'), 'r3,r4', 'integer in');
select is(pg_temp.cars('{"field": "year", "op": "is", "value": "null"}'), 'r5', 'integer is null: a missing key');
select is(pg_temp.cars('{"field": "price", "op": "gt", "value": "9"}'), 'r1,r2,r6', 'number gt compares numbers, not text ("100" > "9")');
select is(pg_temp.cars('{"field": "price", "op": "lt", "value": "7.5"}'), 'r4,r5', 'number lt with decimals');
select is(pg_temp.cars('{"field": "price", "op": "is", "value": "null"}'), 'r3', 'number is null: a JSON null');

-- boolean: any spelling of true/false
select is(pg_temp.cars('{"field": "clutch_completion", "op": "eq", "value": "Yes"}'), 'r1,r3,r6', 'boolean eq Yes');
select is(pg_temp.cars('{"field": "clutch_completion", "op": "eq", "value": "true"}'), 'r1,r3,r6', 'boolean eq true');
select is(pg_temp.cars('{"field": "clutch_completion", "op": "eq", "value": "NEIN"}'), 'r2,r5', 'boolean eq NEIN');
select is(pg_temp.cars('{"field": "clutch_completion", "op": "neq", "value": "1"}'), 'r2,r5', 'boolean neq 1');
select is(pg_temp.cars('{"field": "clutch_completion", "op": "eq", "value": "Wahr"}'), 'r1,r3,r6', 'boolean eq Wahr (German)');
select is(pg_temp.cars('{"field": "clutch_completion", "op": "eq", "value": "faux"}'), 'r2,r5', 'boolean eq faux (French)');
select is(pg_temp.cars('{"field": "clutch_completion", "op": "eq", "value": "VERDADERO"}'), 'r1,r3,r6', 'boolean eq VERDADERO (Spanish)');
select is(pg_temp.cars('{"field": "clutch_completion", "op": "in", "value": ["falsch", "falso"]}'), 'r2,r5', 'boolean in falsch, falso');
select is(pg_temp.cars('{"field": "clutch_completion", "op": "is", "value": "true"}'), 'r1,r3,r6', 'boolean is true');
select is(pg_temp.cars('{"field": "clutch_completion", "op": "is", "value": "false"}'), 'r2,r5', 'boolean is false');
select is(pg_temp.cars('{"field": "clutch_completion", "op": "is", "value": "unknown"}'), 'r4', 'boolean is unknown');
select is(pg_temp.cars('{"field": "clutch_completion", "op": "in", "value": ["no", "y"]}'), 'r1,r2,r3,r5,r6', 'boolean in');

-- date / datetime: compared as timestamps, zones honoured
select is(pg_temp.cars('{"field": "sold_on", "op": "eq", "value": "2024-02-01"}'), 'r2', 'date eq');
select is(pg_temp.cars('{"field": "sold_on", "op": "gte", "value": "2024-02-01"}'), 'r2,r3,r6', 'date gte');
select is(pg_temp.cars('{"field": "sold_on", "op": "lt", "value": "2024-01-01T00:00:00Z"}'), 'r5', 'date lt a datetime');
select is(pg_temp.cars('{"field": "sold_on", "op": "is", "value": "null"}'), 'r4', 'date is null');
select is(pg_temp.cars('{"field": "seen_at", "op": "gt", "value": "2024-02-01T05:59:59Z"}'), 'r2,r3,r6',
          'datetime gt: 08:00+02:00 is 06:00 UTC, -03:00 is honoured');
select is(pg_temp.cars('{"field": "seen_at", "op": "eq", "value": "2024-02-01T07:00:00+01:00"}'), 'r2', 'datetime eq across zones');
select is(pg_temp.cars('{"field": "seen_at", "op": "lte", "value": "2024-01-15 10:30"}'), 'r1,r5', 'datetime lte, space separator');
select is(pg_temp.cars('{"field": "seen_at", "op": "in", "value": ["2024-03-01T15:00:00Z", "2023-12-31T23:59:59Z"]}'), 'r5,r6', 'datetime in');

-- string: text comparison, like/ilike with * as the wildcard
select is(pg_temp.cars('{"field": "country", "op": "eq", "value": "Chile"}'), 'r1,r4,r6', 'string eq');
select is(pg_temp.cars('{"field": "country", "op": "neq", "value": "Kuwait"}'), 'r1,r4,r5,r6', 'string neq');
select is(pg_temp.cars('{"field": "country", "op": "gt", "value": "Chile"}'), 'r2,r3', 'string gt');
select is(pg_temp.cars('{"field": "country", "op": "in", "value": ["Kuwait", "Argentina"]}'), 'r2,r3,r5', 'string in');
select is(pg_temp.cars('{"field": "country", "op": "like", "value": "Ku*"}'), 'r2,r3', 'string like Ku*');
select is(pg_temp.cars('{"field": "sex", "op": "like", "value": "MALE"}'), 'r1,r3', 'like is case-sensitive');
select is(pg_temp.cars('{"field": "sex", "op": "ilike", "value": "male"}'), 'r1,r3,r5', 'ilike is not');
select is(pg_temp.cars('{"field": "sex", "op": "is", "value": "null"}'), 'r4', 'string is null');
select is(pg_temp.cars('{"field": "notes", "op": "like", "value": "*100%*"}'), 'r3', 'like: % is literal');
select is(pg_temp.cars('{"field": "notes", "op": "like", "value": "Another_*"}'), 'r4', 'like: _ is literal');
select is(pg_temp.cars('{"field": "notes", "op": "eq", "value": "42"}'), 'r2', 'mixed: a number matches its text');

-- field names: key, header text, case-insensitive
select is(pg_temp.cars('{"field": "Unit Price", "op": "gte", "value": "20"}'), 'r2,r6', 'a field by its header text');
select is(pg_temp.cars('{"field": "COUNTRY", "op": "eq", "value": "Kuwait"}'), 'r2,r3', 'a field by its key in another case');
select is(pg_temp.cars('{"field": "clutch completion", "op": "is", "value": "true"}'), 'r1,r3,r6', 'a header in another case');
select is(pg_temp.cars(format('{"field": "id", "op": "gt", "value": "%s"}',
                              (select id from public.client_data where data ->> 'label' = 'r4'))::jsonb),
          'r5,r6', 'the row id is filterable');

-- not / and / or
select is(pg_temp.cars('{"not": {"field": "country", "op": "in", "value": ["Chile", "Kuwait"]}}'), 'r5', 'not in');
select is(pg_temp.cars('{"and": [{"field": "country", "op": "eq", "value": "Chile"}, {"not": {"field": "price", "op": "eq", "value": "5"}}]}'),
          'r1,r6', 'and with a negated equality');
select is(pg_temp.cars('{"or": [{"field": "year", "op": "lt", "value": "1960"},
                                {"and": [{"field": "clutch_completion", "op": "is", "value": "true"},
                                         {"not": {"or": [{"field": "country", "op": "eq", "value": "Chile"},
                                                         {"field": "seen_at", "op": "is", "value": "null"}]}}]}]}'),
          'r1,r2,r3', 'nested or/and/not');

select * from finish();
rollback;
