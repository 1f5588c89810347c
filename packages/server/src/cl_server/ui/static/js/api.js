// HTTP calls to the compute service, with the login token kept for this browser tab only.

const TOKEN_KEY = "cl-dashboard-token";
const USER_KEY = "cl-dashboard-user";
// The page is served at <service>/ui/, so the service's root is one level up (this also works
// behind a proxy that mounts the service under a path prefix).
export const serviceRoot = new URL("../", document.baseURI);

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get username() {
    return sessionStorage.getItem(USER_KEY);
  },
  set(token, username) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, username);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },
};

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

let unauthorized = () => {};

/** Called with the server's message whenever an API call answers 401. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export function apiUrl(path, params = {}) {
  const url = new URL(path, serviceRoot);
  for (const [name, value] of Object.entries(params)) {
    for (const item of [value].flat()) {
      if (item !== null && item !== undefined && item !== "") url.searchParams.append(name, item);
    }
  }
  return url;
}

function authHeaders() {
  const token = session.token;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function detailOf(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
  } catch {
    // not JSON: fall through to the status line
  }
  return `${response.status} ${response.statusText}`;
}

async function send(path, { method = "GET", params, body } = {}) {
  const response = await fetch(apiUrl(path, params), { method, headers: authHeaders(), body });
  if (!response.ok) {
    const detail = await detailOf(response);
    if (response.status === 401) unauthorized(detail);
    throw new ApiError(response.status, detail);
  }
  return response;
}

export async function getJson(path, params) {
  return (await send(path, { params })).json();
}

export async function postJson(path) {
  return (await send(path, { method: "POST" })).json();
}

export async function remove(path) {
  await send(path, { method: "DELETE" });
}

/** A job file as a Blob: downloads need the Authorization header, which links cannot send. */
export async function getBlob(path) {
  return (await send(path)).blob();
}

/** Exchange a username and password for a token through the compute service (same origin). */
export async function login(username, password) {
  const body = new URLSearchParams({ username, password });
  const response = await fetch(apiUrl("ui/login"), { method: "POST", body });
  if (!response.ok) throw new ApiError(response.status, await detailOf(response));
  const { access_token: token } = await response.json();
  session.set(token, username);
  return token;
}

export function filePath(jobId, relative) {
  const parts = relative.split("/").map(encodeURIComponent).join("/");
  return `jobs/${encodeURIComponent(jobId)}/files/${parts}`;
}
