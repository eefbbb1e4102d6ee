//! Talking to the Worker: the session (token in sessionStorage, never a cookie), JSON calls
//! whose failures keep the API's `{code, message, hint}`, uploads with progress, downloads.
//!
//! Design decision: uploads use XMLHttpRequest because its `upload.onprogress` reports bytes
//! sent in every browser today, while fetch upload streaming needs HTTP/2 and half-duplex
//! support that `wrangler dev` (HTTP/1.1) does not give.

export interface Session {
  token: string;
  role: "client" | "superadmin";
  client_id: string | null;
  email: string;
}

const KEY = "hybrid-store.session";

export function session(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Session;
  } catch {
    return null;
  }
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public hint?: string,
    public details?: unknown,
  ) {
    super(message);
  }
}

async function errorOf(status: number, body: string): Promise<ApiError> {
  try {
    const e = JSON.parse(body);
    return new ApiError(status, e.code ?? "error", e.message ?? body, e.hint, e.details);
  } catch {
    return new ApiError(status, "error", body || `HTTP ${status}`);
  }
}

function authHeaders(): Record<string, string> {
  const s = session();
  return s ? { Authorization: `Bearer ${s.token}` } : {};
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { ...authHeaders() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status === 401 && session()) {
    signOut();
    location.hash = "#/login";
  }
  if (!res.ok) throw await errorOf(res.status, text);
  return (text ? JSON.parse(text) : null) as T;
}

export async function signIn(email: string, password: string): Promise<Session> {
  const got = await call<{ access_token: string; role?: string; client_id?: string | null }>(
    "POST",
    "/api/auth/login",
    { email, password },
  );
  const s: Session = {
    token: got.access_token,
    role: got.role === "superadmin" ? "superadmin" : "client",
    client_id: got.client_id ?? null,
    email,
  };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

/** POST a body with upload progress (0..1); resolves with the JSON answer. */
export function upload<T>(
  path: string,
  body: FormData | Blob,
  onProgress: (fraction: number) => void,
  contentType?: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    if (contentType) xhr.setRequestHeader("Content-Type", contentType);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.upload.onload = () => onProgress(1);
    xhr.onerror = () => reject(new ApiError(0, "network_error", "the server could not be reached"));
    xhr.onload = async () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(JSON.parse(xhr.responseText) as T);
      } else reject(await errorOf(xhr.status, xhr.responseText));
    };
    xhr.send(body);
  });
}

/** GET a download with the token; returns the file and the name the server gave it. */
export async function download(path: string): Promise<{ blob: Blob; filename: string }> {
  const res = await fetch(path, { headers: authHeaders() });
  if (!res.ok) throw await errorOf(res.status, await res.text());
  const disposition = res.headers.get("content-disposition") ?? "";
  const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? "export";
  return { blob: await res.blob(), filename };
}

/** Whether the Worker speaks the query language (`order`, `field=op.value`): read from its
 *  OpenAPI document once, so the grid works against both the old and the new read API. */
let queryLanguage: Promise<boolean> | null = null;
export function hasQueryLanguage(): Promise<boolean> {
  type Param = { name?: string; $ref?: string };
  queryLanguage ??= call<{ paths: Record<string, { get?: { parameters?: Param[] } }> }>(
    "GET",
    "/api/openapi.json",
  )
    .then((doc) =>
      (doc.paths["/api/data/{client_id}"]?.get?.parameters ?? []).some(
        (p) => p.name === "order" || p.$ref === "#/components/parameters/order",
      ),
    )
    .catch(() => false);
  return queryLanguage;
}
