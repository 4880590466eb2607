// The HTTP API with the operator's bearer token. Errors come back in one shape ({"error": {...}}) and are thrown
// as ApiError with the status, the findings (422, with JSON paths) and the refusals (403, with rules).

import { token } from "./auth.js";

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "error";
    this.rule = error.rule || null;
    this.findings = error.findings || [];
    this.refusals = error.refusals || [];
  }
}

function url(path, params) {
  const u = new URL(API + path, location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value === null || value === undefined || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) u.searchParams.append(key, v);
  }
  return u;
}

const listeners = new Set();
/** Called with every ApiError of status 401 (the token is unknown or was revoked). */
export function onUnauthorized(fn) {
  listeners.add(fn);
}

export async function request(method, path, { params, body, raw, type, signal } = {}) {
  const headers = { Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (raw !== undefined) headers["Content-Type"] = type || "text/plain";
  const payload = raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body);
  const response = await fetch(url(path, params), { method, headers, signal, body: payload });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401) listeners.forEach((fn) => fn(error));
    throw error;
  }
  return data;
}

export const get = (path, params, options = {}) => request("GET", path, { ...options, params });
export const post = (path, body, options = {}) => request("POST", path, { ...options, body });
export const put = (path, body, options = {}) => request("PUT", path, { ...options, body });
export const del = (path, params, options = {}) => request("DELETE", path, { ...options, params });
/** A PUT of a text document (the fleet rules as YAML). */
export const putText = (path, raw, type) => request("PUT", path, { raw, type });

/** A GET that answers null for 404 (an optional resource, e.g. no site cap configured). */
export async function maybe(path, params) {
  try {
    return await get(path, params);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
