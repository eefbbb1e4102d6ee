-- Filters on a boolean column take every spelling the ingest reads as a boolean
-- (crates/ingest/src/values.rs `parse_bool`): the German, French and Spanish words added there
-- (wahr/falsch, vrai/faux, verdadero/falso) matched no row before, so `?aktiv=wahr` on a column
-- uploaded as `wahr`/`falsch` was a 400 `invalid_value`.
create or replace function private.query_boolean(p_value text)
  returns boolean
  language sql
  immutable
  strict
  parallel safe
  set search_path = ''
as $$
  select case
    when lower(btrim(p_value)) in ('true', 'yes', 'y', '1', 't', 'ja', 'wahr', 'oui', 'vrai', 'si', 'sí',
                                   'verdadero') then true
    when lower(btrim(p_value)) in ('false', 'no', 'n', '0', 'f', 'nein', 'falsch', 'non', 'faux',
                                   'falso') then false
  end
$$;
