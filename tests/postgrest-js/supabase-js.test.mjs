// supabase-js (the client a frontend uses) against the local data API: every call of issue 13's
// table answers as Supabase's PostgREST / Auth would, on the project's own migrations. Each test
// names the PostgREST behaviour it mirrors (docs.postgrest.org, references/api/...).
// Reads API_URL, ANON_KEY, SERVICE_ROLE_KEY, JWT_SECRET (as in .local/stack.env). Node 20 needs
// --experimental-websocket (supabase-js's realtime client wants a global WebSocket); cargo xtask
// test passes it. Fails (does not skip) when a variable is missing or the data API is down.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { createClient } from '@supabase/supabase-js';

function required(name) {
  const value = process.env[name];
  assert.ok(value, `${name} must be set (source .local/stack.env after \`cargo xtask up\`)`);
  return value;
}

const apiUrl = () => required('API_URL').replace(/\/+$/, '');
const options = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } };

const b64url = (value) => Buffer.from(value).toString('base64url');

// A Supabase user token (what the Worker's login issues): HS256 with the project's JWT secret.
function userToken(sub, claims = {}) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify({
    sub, role: 'authenticated', aud: 'authenticated', email: `${sub}@example.test`,
    exp: Math.floor(Date.now() / 1000) + 600, ...claims,
  }));
  const signature = createHmac('sha256', required('JWT_SECRET')).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

const admin = () => createClient(apiUrl(), required('SERVICE_ROLE_KEY'), options);
const asUser = (token) => createClient(apiUrl(), required('ANON_KEY'), {
  ...options, global: { headers: { Authorization: `Bearer ${token}` } },
});

// Two tenants: A has 4 'sales' rows and 3 'costs' rows (7), B has one row.
let tenantA;
let tenantB;
let rowIds;

async function createTenant(tables) {
  const db = admin();
  const id = randomUUID();
  const [[first, rows], ...rest] = Object.entries(tables);
  const { error } = await db.rpc('create_client_with_data', {
    p_company_name: `supabase-js ${id}`, p_email: `sbjs-${id}@example.test`,
    p_client_id: id, p_table_name: first, p_rows: rows,
  });
  assert.equal(error, null);
  for (const [table, more] of rest) {
    const { error: appendError } = await db.rpc('append_client_data', { p_client_id: id, p_table_name: table, p_rows: more });
    assert.equal(appendError, null);
  }
  return { id, token: userToken(id) };
}

before(async () => {
  tenantA = await createTenant({
    sales: [{ a: 1, n: 'one' }, { a: 2, n: 'two' }, { a: 3 }, { a: 4 }],
    costs: [{ a: 5 }, { a: 6 }, { a: 7 }],
  });
  tenantB = await createTenant({ sales: [{ a: 1, n: 'b' }] });
  const { data, error } = await asUser(tenantA.token).rpc('get_client_data_filtered', { p_client_id: tenantA.id });
  assert.equal(error, null);
  rowIds = data.map((row) => row.id).sort((x, y) => x - y);
  assert.equal(rowIds.length, 7);
});

const filtered = (sb, args = {}, opts) => sb.rpc('get_client_data_filtered', { p_client_id: tenantA.id, ...args }, opts);

// references/api/functions: a function's result takes select, filters, order and limits.
test('rpc().select() returns only the selected columns', async () => {
  const { data, error, status } = await filtered(asUser(tenantA.token)).select('id,table_name');
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.equal(data.length, 7);
  for (const row of data) assert.deepEqual(Object.keys(row).sort(), ['id', 'table_name']);
});

test('rpc() with eq / neq / in / gt filters the result', async () => {
  const sb = asUser(tenantA.token);
  const tables = (rows) => rows.map((r) => r.table_name).sort();
  let r = await filtered(sb).select('id,table_name').eq('table_name', 'sales');
  assert.deepEqual(tables(r.data), ['sales', 'sales', 'sales', 'sales']);
  r = await filtered(sb).select('table_name').neq('table_name', 'sales');
  assert.deepEqual(tables(r.data), ['costs', 'costs', 'costs']);
  r = await filtered(sb).select('table_name').in('table_name', ['costs']);
  assert.equal(r.data.length, 3);
  r = await filtered(sb).select('id').gt('id', rowIds[0]);
  assert.deepEqual(r.data.map((x) => x.id).sort((x, y) => x - y), rowIds.slice(1));
});

// references/api/tables_views "JSON Columns": data->>a compares the text of a key.
test("rpc() filtered on a JSON path: eq('data->>a', '1')", async () => {
  const { data, error } = await filtered(asUser(tenantA.token)).select('id,a:data->>a,n:data->>n').eq('data->>a', '1');
  assert.equal(error, null);
  assert.deepEqual(data.map(({ a, n }) => ({ a, n })), [{ a: '1', n: 'one' }]);
});

test('rpc() with limit / range / order pages and sorts the result', async () => {
  const sb = asUser(tenantA.token);
  let r = await filtered(sb).select('id').limit(1);
  assert.equal(r.data.length, 1);
  r = await filtered(sb).select('id').order('id', { ascending: true }).range(0, 1);
  assert.deepEqual(r.data.map((x) => x.id), rowIds.slice(0, 2));
  r = await filtered(sb).select('id').order('id', { ascending: true });
  assert.deepEqual(r.data.map((x) => x.id), rowIds);
  r = await filtered(sb).select('id').order('id', { ascending: false }).range(2, 3);
  assert.deepEqual(r.data.map((x) => x.id), [rowIds[4], rowIds[3]]);
});

// references/api/functions "Calling with GET": non-argument keys are filters, not arguments.
test('rpc(fn, args, {get: true}).eq() filters instead of failing with PGRST202', async () => {
  const { data, error, status } = await filtered(asUser(tenantA.token), {}, { get: true })
    .select('table_name').eq('table_name', 'sales');
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.deepEqual(data, [{ table_name: 'sales' }, { table_name: 'sales' }, { table_name: 'sales' }, { table_name: 'sales' }]);
});

// references/api/pagination "Exact Count" / "Planned Count" / "Estimated Count".
test("count: 'exact' with limit(1): one row, count 7, 206 Partial Content", async () => {
  const { data, count, status, error } = await filtered(asUser(tenantA.token), {}, { count: 'exact' }).select('id').limit(1);
  assert.equal(error, null);
  assert.equal(status, 206);
  assert.equal(data.length, 1);
  assert.equal(count, 7);
});

test("count: 'planned' and 'estimated' are numbers", async () => {
  for (const count of ['planned', 'estimated']) {
    const r = await filtered(asUser(tenantA.token), {}, { count }).select('id');
    assert.equal(r.error, null, count);
    assert.ok(Number.isInteger(r.count) && r.count > 0, `${count}: ${r.count}`);
  }
  const r = await filtered(asUser(tenantA.token), {}, { count: 'estimated' }).select('id');
  assert.equal(r.count, 7, 'estimated is exact while small');
});

// references/api/resource_representation "CSV"; references/observability "Execution plan".
test('.csv() answers CSV; .explain() is refused by name', async () => {
  const { data, error } = await filtered(asUser(tenantA.token)).select('id,table_name').order('id').csv();
  assert.equal(error, null);
  const lines = data.split('\n');
  assert.equal(lines[0], 'id,table_name');
  assert.equal(lines.length, 8);
  assert.equal(lines[1], `${rowIds[0]},sales`);
  const explained = await filtered(asUser(tenantA.token)).explain();
  assert.equal(explained.status, 501);
  assert.equal(explained.error.code, 'PGRSTX501');
});

// PostgREST's CORS: preflight 200; any origin allowed on answers.
test('OPTIONS preflight is 200 and answers carry Access-Control-Allow-Origin', async () => {
  const preflight = await fetch(`${apiUrl()}/rest/v1/rpc/get_client_data_filtered`, {
    method: 'OPTIONS',
    headers: {
      Origin: 'http://localhost:5173', 'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'apikey,authorization,content-type,x-client-info',
    },
  });
  assert.equal(preflight.status, 200);
  assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
  assert.match(preflight.headers.get('access-control-allow-headers'), /apikey/);
  const read = await fetch(`${apiUrl()}/rest/v1/client_data_summary?select=table_name`, {
    headers: { Origin: 'http://localhost:5173', apikey: required('ANON_KEY'), Authorization: `Bearer ${tenantA.token}` },
  });
  assert.equal(read.status, 200);
  assert.equal(read.headers.get('access-control-allow-origin'), '*');
});

// references/api/tables_views: tables and views are read under the caller's RLS.
test("from('client_data_summary').select('*') shows the tenant's own tables only", async () => {
  const { data, error } = await asUser(tenantA.token).from('client_data_summary').select('*').order('table_name');
  assert.equal(error, null);
  assert.deepEqual(data.map((r) => [r.client_id, r.table_name, r.actual_row_count]),
    [[tenantA.id, 'costs', 3], [tenantA.id, 'sales', 4]]);
  const other = await asUser(tenantB.token).from('client_data_summary').select('client_id,table_name');
  assert.deepEqual(other.data, [{ client_id: tenantB.id, table_name: 'sales' }]);
});

test("another tenant's token reads none of A's rows, by table or by RPC", async () => {
  const sb = asUser(tenantB.token);
  const rows = await sb.from('client_data').select('id').eq('client_id', tenantA.id);
  assert.equal(rows.error, null);
  assert.deepEqual(rows.data, []);
  const call = await filtered(sb);
  assert.equal(call.status, 404);
  assert.equal(call.error.code, 'PT404');
});

test("from(t).select('*', {count: 'exact', head: true}) counts without rows", async () => {
  const { data, count, status, error } = await asUser(tenantA.token)
    .from('client_data').select('*', { count: 'exact', head: true });
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.equal(data, null);
  assert.equal(count, 7);
});

// references/api/resource_representation "Singular or Plural".
test('.single() and .maybeSingle()', async () => {
  const sb = asUser(tenantA.token);
  const one = await sb.from('clients').select('client_id').eq('client_id', tenantA.id).single();
  assert.equal(one.error, null);
  assert.deepEqual(one.data, { client_id: tenantA.id });
  const none = await sb.from('clients').select('client_id').eq('client_id', tenantB.id).single();
  assert.equal(none.error.code, 'PGRST116');
  assert.equal(none.status, 406);
  const maybeNone = await sb.from('clients').select('client_id').eq('client_id', tenantB.id).maybeSingle();
  assert.equal(maybeNone.error, null);
  assert.equal(maybeNone.data, null);
  const maybeOne = await filtered(sb).select('id').eq('id', rowIds[0]).maybeSingle();
  assert.equal(maybeOne.error, null);
  assert.deepEqual(maybeOne.data, { id: rowIds[0] });
});

test('writes through table endpoints answer 501 PGRSTX501, and nothing is written', async () => {
  const sb = asUser(tenantA.token);
  const { error, status } = await sb.from('client_data').insert({ client_id: tenantA.id, table_name: 'sales', data: {} });
  assert.equal(status, 501);
  assert.equal(error.code, 'PGRSTX501');
  const { count } = await sb.from('client_data').select('*', { count: 'exact', head: true });
  assert.equal(count, 7);
});

// references/api/openapi: GET /rest/v1/ is PostgREST's Swagger 2.0 description.
test('GET /rest/v1/ is the OpenAPI description of what the role may use', async () => {
  const response = await fetch(`${apiUrl()}/rest/v1/`, {
    headers: { apikey: required('ANON_KEY'), Authorization: `Bearer ${tenantA.token}` },
  });
  assert.equal(response.status, 200);
  const doc = await response.json();
  assert.equal(doc.swagger, '2.0');
  assert.ok(doc.paths['/client_data_summary'], 'the view is described');
  assert.ok(doc.paths['/rpc/get_client_data_filtered'].post, 'the function is described');
  assert.ok(doc.definitions.client_data.properties.data, 'columns are described');
});

// Supabase Auth GET /user, which sb.auth.getUser(jwt) calls.
test('auth.getUser(token) returns the user of a valid token, an error for a bad one', async () => {
  const sb = createClient(apiUrl(), required('ANON_KEY'), options);
  const { data, error } = await sb.auth.getUser(tenantA.token);
  assert.equal(error, null);
  assert.equal(data.user.id, tenantA.id);
  assert.equal(data.user.aud, 'authenticated');
  assert.equal(data.user.email, `${tenantA.id}@example.test`);
  const forged = `${tenantA.token.slice(0, -4)}AAAA`;
  const bad = await sb.auth.getUser(forged);
  assert.equal(bad.data.user, null);
  assert.equal(bad.error.status, 403);
});

// PostgREST with jwt-aud set (xtask sets DATA_API_JWT_AUD=authenticated): another audience is
// 401 PGRST303 (test/spec/Feature/Auth/AudienceJwtSecretSpec).
test('a token for another audience is refused', async () => {
  const { error, status } = await filtered(asUser(userToken(tenantA.id, { aud: 'someone-else' })));
  assert.equal(status, 401);
  assert.equal(error.code, 'PGRST303');
});
