// The REST client of the dashboard: the signed-in session (tokens in localStorage, so a
// second tab shares it), bearer authentication, one token refresh on 401, problem
// details (RFC 9457) surfaced as ApiError with the field the server blamed, and whether
// the server can be reached at all (`connection`: "lost" and "restored" events).

const SESSION_KEY = "dracarys.session";

/**
 * @typedef {object} Session
 * @property {string} access_token
 * @property {string} refresh_token
 * @property {string} user_id
 * @property {string} role
 * @property {number} expires_at  epoch milliseconds when the access token stops working
 */

/** @typedef {{field: string, message: string}} FieldError */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{title?: string, detail?: string, errors?: FieldError[], extra?: object}} problem
   */
  constructor(status, problem) {
    super(problem.detail || problem.title || `request failed (${status})`);
    this.status = status;
    this.problem = problem;
    /** @type {FieldError[]} */
    this.errors = problem.errors || [];
  }

  /** The first field the server named, if any. */
  get field() {
    return this.errors.length ? this.errors[0].field : null;
  }

  /** True when the request never reached the server (offline, server down). */
  get unreachable() {
    return this.status === 0;
  }
}

export const UNREACHABLE = "Cannot reach Dracarys — check your connection";

/**
 * Whether the server answers: "lost" when a request cannot reach it or the browser goes
 * offline, "restored" on the next answer from it or when the browser is back online.
 */
export const connection = new (class extends EventTarget {
  reachable = true;
  /** How many times the connection was lost: a request remembers it when it is sent. */
  losses = 0;

  lost() {
    if (!this.reachable) return;
    this.reachable = false;
    this.losses += 1;
    this.dispatchEvent(new Event("lost"));
  }

  /**
   * @param {number} [sentAfterLosses] `losses` when the answered request was sent: an
   *   answer to a request sent before the latest loss says nothing about the line now.
   */
  restored(sentAfterLosses = this.losses) {
    if (this.reachable || sentAfterLosses < this.losses) return;
    this.reachable = true;
    this.dispatchEvent(new Event("restored"));
  }
})();
window.addEventListener("offline", () => connection.lost());
window.addEventListener("online", () => connection.restored());

/**
 * `fetch`, except that a request that never reaches the server (offline, DNS, refused)
 * is an ApiError with status 0 and the message a person understands.
 * @param {string} path
 * @param {RequestInit} [init]
 */
async function reach(path, init) {
  let response;
  const sentAfterLosses = connection.losses;
  try {
    response = await fetch(path, init);
  } catch {
    connection.lost();
    throw new ApiError(0, { title: "Not connected", detail: UNREACHABLE });
  }
  connection.restored(sentAfterLosses);
  return response;
}

/** @returns {Session | null} */
export function currentSession() {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    return raw ? /** @type {Session} */ (JSON.parse(raw)) : null;
  } catch {
    return null;
  }
}

/** @param {{access_token: string, refresh_token: string, user_id: string, role: string, expires_in: number}} pair */
export function saveSession(pair) {
  /** @type {Session} */
  const session = {
    access_token: pair.access_token,
    refresh_token: pair.refresh_token,
    user_id: pair.user_id,
    role: pair.role,
    expires_at: Date.now() + pair.expires_in * 1000,
  };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

export function clearSession() {
  localStorage.removeItem(SESSION_KEY);
}

/** Where a role starts: staff on the staff home, mentors in their console, others trading. */
export function homeFor(role) {
  if (role === "admin" || role === "reviewer") return "/staff";
  if (role === "mentor") return "/mentor";
  return "/dashboard";
}

let signingOut = false;

/** Send the visitor to the sign-in page, coming back here afterwards. */
export function goToSignIn() {
  // Signing out revokes the session, so the live stream and any request in flight are
  // refused a moment later; their "sign in again" must not race the sign-out's own
  // navigation (two navigations abort each other) nor bring the person back here.
  if (signingOut) return;
  const next = location.pathname + location.search;
  location.assign(`/signin?next=${encodeURIComponent(next)}`);
}

/**
 * End this browser's session and go to the sign-in page.
 * @param {() => Promise<unknown>} [revoke]  how the server is told; POST /logout unless given
 */
export async function signOut(revoke) {
  signingOut = true;
  try {
    await (revoke ? revoke() : api("/api/v1/logout", { method: "POST" }));
  } catch {
    // Signing out locally is what matters; the server session expires on its own.
  }
  clearSession();
  location.assign("/signin");
}

let refreshing = /** @type {Promise<Session | null> | null} */ (null);

/**
 * Rotate the refresh token once, even when several requests — or several tabs, which
 * share the session — hit a 401 together: refresh tokens are single-use, so tabs take a
 * browser-wide lock and a tab that finds the token already rotated uses the new one.
 * @param {string} [staleAccessToken]  the token that was refused, if any
 * @returns {Promise<Session | null>} null when the session cannot be renewed
 */
export function refreshSession(staleAccessToken) {
  if (refreshing) return refreshing;
  const rotate = async () => {
    const session = currentSession();
    if (!session) return null;
    const rotatedMeanwhile = staleAccessToken && session.access_token !== staleAccessToken;
    if (rotatedMeanwhile && session.expires_at - Date.now() > 30_000) return session;
    try {
      const response = await reach("/api/v1/token/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: session.refresh_token }),
      });
      if (!response.ok) {
        clearSession();
        return null;
      }
      return saveSession(await response.json());
    } catch {
      return null; // offline: keep the session, try again later
    }
  };
  const locks = navigator.locks;
  refreshing = (locks ? locks.request("dracarys.refresh", rotate) : rotate()).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** An access token good for at least another 30 s, refreshed if needed. */
export async function accessToken() {
  const session = currentSession();
  if (!session) return null;
  if (session.expires_at - Date.now() > 30_000) return session.access_token;
  const renewed = await refreshSession(session.access_token);
  return renewed ? renewed.access_token : null;
}

/**
 * Call the API. Bodies are JSON; the response's JSON is returned (null for 204).
 * @param {string} path
 * @param {{method?: string, body?: unknown, auth?: boolean, headers?: Record<string, string>}} [options]
 */
export async function api(path, options = {}) {
  const { method = "GET", body, auth = true, headers = {} } = options;
  let sent = /** @type {string | null | undefined} */ (undefined);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const sendHeaders = { Accept: "application/json", ...headers };
    if (body !== undefined) sendHeaders["Content-Type"] = "application/json";
    if (auth) {
      const token = attempt === 0 ? await accessToken() : (await refreshSession(sent))?.access_token;
      sent = token;
      if (!token) {
        // Offline, the session could not be renewed but is still there: not signed out.
        if (!connection.reachable && currentSession()) {
          throw new ApiError(0, { title: "Not connected", detail: UNREACHABLE });
        }
        goToSignIn();
        throw new ApiError(401, { detail: "sign in first" });
      }
      sendHeaders.Authorization = `Bearer ${token}`;
    }
    const response = await reach(path, {
      method,
      headers: sendHeaders,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401 && auth && attempt === 0) continue;
    if (response.status === 204) return null;
    const text = await response.text();
    let payload = null;
    try {
      payload = text ? JSON.parse(text) : null;
    } catch {
      payload = { detail: text };
    }
    if (!response.ok) {
      if (response.status === 401 && auth) {
        clearSession();
        goToSignIn();
      }
      throw new ApiError(response.status, payload || {});
    }
    return payload;
  }
  throw new ApiError(401, { detail: "sign in first" });
}

/** True when the route exists on this server (a page whose API has not shipped says so). */
export async function apiAvailable(path) {
  const token = await accessToken();
  const response = await reach(path, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  return response.status !== 404 && response.status !== 405;
}

/**
 * Send one file (`file` field, with `fields` beside it) as multipart form data with the
 * session's token (api() sends JSON only), refreshing the token once on a 401 as api()
 * does. Resolves with the JSON answer; rejects with an ApiError (a 413 names `file` with
 * `tooLarge`).
 * @param {string} path
 * @param {File} file
 * @param {{method?: string, fields?: Record<string, string>, tooLarge?: string}} [options]
 */
export async function uploadFile(path, file, options = {}) {
  const { method = "POST", fields = {}, tooLarge = "This file is too large. Upload a smaller one." } = options;
  let sent = /** @type {string | null | undefined} */ (undefined);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const token = attempt === 0 ? await accessToken() : (await refreshSession(sent))?.access_token;
    sent = token;
    if (!token) {
      goToSignIn();
      throw new ApiError(401, { detail: "sign in first" });
    }
    const body = new FormData();
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    body.append("file", file, file.name);
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: { Accept: "application/json", Authorization: `Bearer ${token}` },
        body,
      });
    } catch {
      throw new ApiError(0, { detail: "The upload did not reach the server. Check your connection and try again." });
    }
    if (response.status === 401 && attempt === 0) continue;
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    if (response.status === 413) {
      throw new ApiError(413, { detail: tooLarge, errors: [{ field: "file", message: tooLarge }] });
    }
    if (!response.ok) throw new ApiError(response.status, payload || {});
    return payload;
  }
  throw new ApiError(401, { detail: "sign in first" });
}

/**
 * Fetch a file the API serves (a CSV export) with the session's token and hand it to the
 * browser as a download, named by the server's Content-Disposition. A plain link cannot
 * carry the bearer token, hence the fetch; the token is refreshed once on a 401 as api()
 * does. Rejects with an ApiError carrying the server's problem details.
 * @param {string} path
 * @param {{method?: string, fallbackName?: string}} [options]  `method` for an export
 *   that is itself an action (POST, audit-logged); `fallbackName` when the server names none
 */
export async function downloadFile(path, options = {}) {
  const { method = "GET", fallbackName = "export.csv" } = options;
  let sent = /** @type {string | null | undefined} */ (undefined);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const token = attempt === 0 ? await accessToken() : (await refreshSession(sent))?.access_token;
    sent = token;
    if (!token) {
      goToSignIn();
      throw new ApiError(401, { detail: "sign in first" });
    }
    const response = await reach(path, { method, headers: { Authorization: `Bearer ${token}` } });
    if (response.status === 401 && attempt === 0) continue;
    if (!response.ok) {
      let payload = null;
      try {
        payload = await response.json();
      } catch {
        payload = null;
      }
      throw new ApiError(response.status, payload || {});
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || fallbackName;
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    // The browser has taken the file once the click is handled; free the blob after.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    return name;
  }
  throw new ApiError(401, { detail: "sign in first" });
}
