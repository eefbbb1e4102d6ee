// The official PostgREST client (@supabase/postgrest-js) against the local data API: results and
// errors must have the shapes it gets from Supabase's PostgREST. Needs a running stack with the
// project's migrations; reads API_URL, ANON_KEY, SERVICE_ROLE_KEY (as in .local/stack.env).
// Run from the repository root: node --test tests/postgrest-js/
// Fails (does not skip) when the variables are missing or the data API is not reachable.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PostgrestClient } from '@supabase/postgrest-js';

function required(name) {
  const value = process.env[name];
  assert.ok(value, `${name} must be set (source .local/stack.env after \`cargo xtask up\`)`);
  return value;
}

const apiUrl = () => required('API_URL').replace(/\/+$/, '');

// supabase-js sends the key both as `apikey` and as the bearer token.
function clientWithKey(key) {
  return new PostgrestClient(`${apiUrl()}/rest/v1`, {
    headers: { apikey: key, Authorization: `Bearer ${key}` },
  });
}

test('the data API answers its readiness check', async () => {
  const response = await fetch(`${apiUrl()}/`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { status: 'ok' });
});

// A client of our own, made through the service role as the Worker makes one, so that reads
// below have rows to count (an unseen client is an error, not 0: see the PT404 test).
async function clientWithRows(db, rows) {
  const id = randomUUID();
  const { error } = await db.rpc('create_client_with_data', {
    p_company_name: `compat ${id}`,
    p_email: `compat-${id}@example.test`,
    p_client_id: id,
    p_rows: rows,
  });
  assert.equal(error, null);
  return id;
}

test('scalar RPC: get_client_data_count is the JSON number of rows', async () => {
  const db = clientWithKey(required('SERVICE_ROLE_KEY'));
  const id = await clientWithRows(db, [{ a: 1 }, { a: 2 }, { a: 3 }]);
  const { data, error, status } = await db.rpc('get_client_data_count', { p_client_id: id });
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.equal(data, 3);
});

test('set-returning RPC: an array, and count=exact fills count from Content-Range', async () => {
  const db = clientWithKey(required('SERVICE_ROLE_KEY'));
  const id = await clientWithRows(db, [{ a: 1 }, { a: 2 }]);
  const { data, error, status, count } = await db.rpc(
    'get_client_data_filtered',
    { p_client_id: id, p_limit: 5 },
    { count: 'exact' },
  );
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.deepEqual(data.map((row) => row.data.a).sort(), [1, 2]);
  assert.equal(count, 2);
});

// PostgREST: "RAISE errors with HTTP Status Codes" — SQLSTATE PTxyz answers status xyz.
test('raised PT404 for an unseen client: status 404 and the PostgREST error object', async () => {
  const db = clientWithKey(required('SERVICE_ROLE_KEY'));
  const { data, error, status } = await db.rpc('get_client_data_count', { p_client_id: randomUUID() });
  assert.equal(data, null);
  assert.equal(status, 404);
  assert.deepEqual(Object.keys(error).sort(), ['code', 'details', 'hint', 'message']);
  assert.equal(error.code, 'PT404');
  assert.equal(error.message, 'client not found');
});

test('unknown function: PostgREST error object with code PGRST202 and status 404', async () => {
  const db = clientWithKey(required('SERVICE_ROLE_KEY'));
  const { data, error, status } = await db.rpc('no_such_function_for_compat', { p_x: 1 });
  assert.equal(data, null);
  assert.equal(status, 404);
  assert.deepEqual(Object.keys(error).sort(), ['code', 'details', 'hint', 'message']);
  assert.equal(error.code, 'PGRST202');
  assert.equal(
    error.message,
    'Could not find the function public.no_such_function_for_compat(p_x) in the schema cache',
  );
  assert.equal(typeof error.details, 'string');
  assert.equal(error.hint, null);
});

test('anon may not count client data: 42501 with status 401, as PostgREST maps it', async () => {
  const db = clientWithKey(required('ANON_KEY'));
  const { data, error, status } = await db.rpc('get_client_data_count', { p_client_id: randomUUID() });
  assert.equal(data, null);
  assert.equal(status, 401);
  assert.equal(error.code, '42501');
});

test('a forged JWT: 401 with PGRST301', async () => {
  const anonKey = required('ANON_KEY');
  const [header, payload] = anonKey.split('.');
  const forged = `${header}.${payload}.c2lnbmF0dXJlLWZyb20tc29tZWJvZHktZWxzZQ`;
  const db = new PostgrestClient(`${apiUrl()}/rest/v1`, {
    headers: { apikey: anonKey, Authorization: `Bearer ${forged}` },
  });
  const { error, status } = await db.rpc('get_client_data_count', { p_client_id: randomUUID() });
  assert.equal(status, 401);
  assert.equal(error.code, 'PGRST301');
});
