-- The rest of an upload's life: bad batches, abort, restart under the same key, cleanup of
-- abandoned uploads; and who may reach the staging tables at all.
begin;
select plan(34);
\ir _fixtures.psql

-- The DETAIL of the error `p_sql` raises (throws_ok checks only SQLSTATE and message).
create function pg_temp.error_detail(p_sql text)
  returns text
  language plpgsql
as $$
declare
  v_detail text;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return v_detail;
end
$$;

select pg_temp.act_as('authenticated', :'sub_a');
select (public.begin_upload('append', :'client_a', 'client_11111111_sales', 'data', 'retry-me'))->>'upload_id' as up1 \gset
select is(public.stage_upload_rows(:'up1', '[{"sku": "x-1"}, {"sku": "x-2"}]'), 2, 'client A stages 2 rows');
select throws_ok(format('select public.stage_upload_rows(%L, ''[{"sku": "x-3"}, 7]'')', :'up1'), '22023',
                 'rows[1] is a JSON number; every row must be a JSON object', 'a batch with a non-object row is refused by index');
select throws_ok(format('select public.stage_upload_rows(%L, ''{"sku": "x-3"}'')', :'up1'), '22023',
                 'rows must be a JSON array of objects, got a JSON object', 'a batch that is not an array is refused');
select is(public.stage_upload_rows(:'up1', '[{"sku": "x-3"}]'), 3, 'a refused batch staged nothing');

-- The same key while the upload is in flight (a batch staged just now): refused, nothing lost.
select throws_ok($$select public.begin_upload('append', '11111111-1111-1111-1111-111111111111',
                                              'client_11111111_sales', 'data', 'retry-me')$$,
                 'PT409', 'an upload with Idempotency-Key retry-me is still in progress',
                 'client A''s retry while its first attempt is in flight is refused as in progress');
select is(pg_temp.error_detail(format($$select public.begin_upload('append', %L, 'client_11111111_sales', 'data', 'retry-me')$$,
                                     :'client_a')),
          'in_progress', '... with detail in_progress, which tells the Worker it is not a key reused for another table');
select results_eq(format('select status, rows_staged, (select count(*)::int from staging.upload_rows r where r.upload_id = u.upload_id)
                          from staging.uploads u where u.upload_id = %L', :'up1'),
                  $$values ('pending'::text, 3::bigint, 3)$$, '... and the upload in flight keeps its 3 staged rows');
select is(public.stage_upload_rows(:'up1', '[{"sku": "x-4"}]'), 4, '... and takes its next batch');

-- Restart: the same key once the upload has been idle for a minute discards the earlier attempt.
reset role;
set local session_replication_role = replica; -- else the updated_at trigger resets the date
update staging.uploads set updated_at = now() - interval '1 minute' where upload_id = :'up1';
set local session_replication_role = origin;
select pg_temp.act_as('authenticated', :'sub_a');
select (public.begin_upload('append', :'client_a', 'client_11111111_sales', 'data', 'retry-me'))->>'upload_id' as up2 \gset
select is((select count(*)::int from staging.upload_rows), 0, 'restarting under the same key discards the staged rows');
select is((select count(*)::int from staging.uploads), 1, '... and the earlier attempt');
select is(public.stage_upload_rows(:'up2', '[{"sku": "y-1"}]'), 1, 'the restarted upload counts from 1');

-- Abort.
select lives_ok(format('select public.abort_upload(%L)', :'up2'), 'client A aborts its upload');
select is((select count(*)::int from staging.upload_rows), 0, 'the aborted upload''s rows are gone');
select lives_ok(format('select public.abort_upload(%L)', :'up2'), 'aborting twice is harmless');
select throws_ok(format('select public.commit_upload(%L, ''{}'')', :'up2'), 'PT409',
                 format('upload %s was aborted; its rows are gone', :'up2'), 'an aborted upload cannot be committed');
select throws_ok(format('select public.stage_upload_rows(%L, ''[{}]'')', :'up2'), 'PT409',
                 format('upload %s is aborted; only a pending upload accepts rows', :'up2'), 'an aborted upload takes no rows');
select is(public.get_client_data_count(:'client_a'), 3::bigint, 'nothing of the aborted upload is visible');
select (public.begin_upload('append', :'client_a', 'client_11111111_sales', 'data', 'retry-me')) as after_abort \gset
select is(:'after_abort'::jsonb - 'upload_id', '{"status": "pending", "replayed": false, "result": null, "request_digest": null}'::jsonb,
          'the same key right after an abort starts afresh, without waiting');
select isnt((:'after_abort'::jsonb)->>'upload_id', :'up2', '... under a new upload id');

select throws_ok($$select public.begin_upload('append', '11111111-1111-1111-1111-111111111111', 'Bad Name')$$,
                 '22023', null, 'an unsafe table name is refused at begin');
select throws_ok($$select public.begin_upload('replace', '11111111-1111-1111-1111-111111111111', 'x')$$,
                 '22023', 'kind ''replace'' is invalid; use ''create'' or ''append''', 'an unknown kind is refused');
select throws_ok($$select public.cleanup_abandoned_uploads()$$, '42501', null, 'a client cannot run the cleanup');

-- Cleanup: only pending uploads without activity for the interval go, with their rows.
select pg_temp.act_as('service_role');
select (public.begin_upload('append', :'client_b', 'client_22222222_data'))->>'upload_id' as old_pending \gset
select is(public.stage_upload_rows(:'old_pending', '[{"note": "abandoned"}]'), 1, 'an upload that will be abandoned');
select (public.begin_upload('append', :'client_b', 'client_22222222_data'))->>'upload_id' as old_done \gset
select lives_ok(format('select public.commit_upload(%L, null)', :'old_done'), 'an upload committed long ago');
reset role;
-- Back-date them (replica mode skips the updated_at trigger, which would reset the date).
set local session_replication_role = replica;
update staging.uploads set updated_at = now() - interval '2 hours' where upload_id in (:'old_pending', :'old_done');
set local session_replication_role = origin;
select pg_temp.act_as('service_role');
select throws_ok($$select public.cleanup_abandoned_uploads(null)$$, '22023', null, 'the interval is required');
select is(public.cleanup_abandoned_uploads(), 1, 'the cleanup removes the one pending upload idle for over an hour');
select results_eq($$select status, count(*)::int from staging.uploads group by status order by status$$,
                  $$values ('committed'::text, 1), ('pending', 1)$$,
                  'a recent pending upload and an old committed one stay');
select is((select count(*)::int from staging.upload_rows where upload_id = :'old_pending'), 0,
          'the abandoned upload''s staged rows are gone');

-- A big batch (one INSERT … SELECT) keeps its order through staging and commit.
select (public.begin_upload('append', :'client_b', 'client_22222222_big'))->>'upload_id' as big \gset
select is(public.stage_upload_rows(:'big', (select jsonb_agg(jsonb_build_object('i', i) order by i)
                                              from generate_series(1, 10000) i)), 10000,
          'a batch of 10,000 rows is staged');
select is((public.commit_upload(:'big', null))->>'rows_stored', '10000', '... and committed');
select is((select count(*)::int from (select (data->>'i')::int - row_number() over (order by id) as gap
                                        from public.client_data
                                       where table_name = 'client_22222222_big') g
            where gap <> 0), 0,
          '... with ids in the order of its rows');

-- Nobody reaches staging except through the functions' rules.
select ok(not has_schema_privilege('anon', 'staging', 'usage'), 'anon cannot reach the staging schema');
select ok((select bool_and(relrowsecurity) from pg_class where oid in ('staging.uploads'::regclass, 'staging.upload_rows'::regclass)),
          'RLS is enabled on both staging tables');
select is((select count(*)::int from pg_policies where schemaname = 'staging'
            and (roles <> '{authenticated}' or cmd = 'ALL'
                 or coalesce(qual, with_check) not like '%( SELECT auth.uid() AS uid)%')), 0,
          'staging policies: per command, to authenticated, reading auth.uid() once');

select * from finish();
rollback;
