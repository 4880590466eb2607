// The operator's token (sessionStorage: gone when the tab closes) and who it belongs to (GET /api/v1/me).

const KEY = "wattcap.token";
let me = null;

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  sessionStorage.setItem(KEY, value);
  me = null;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  me = null;
}

export function setMe(value) {
  me = value;
}

export function current() {
  return me;
}

/** Whether the client may change anything (not read-only). */
export function canWrite() {
  return !!me && !me.grant.read_only;
}

/** Whether the client may write profiles at all (not read-only, and some band granted). */
export function canEditProfiles() {
  return canWrite() && me.grant.bands.length > 0;
}

export function grantedBands() {
  return me ? me.grant.bands : [];
}
