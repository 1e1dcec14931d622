/**
 * The API as the pages call it: same-origin fetch with the session cookie (never a token in the
 * page), the CSRF token echoed on every call but a GET, and a refusal turned into an ApiError with
 * the server's stable code, so pages show messages by code, not by parsing text.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** One cookie the page may read (the CSRF token is one; the session cookie is httpOnly and never is). */
export function cookie(name: string): string | undefined {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

/** Whether this browser holds a session (its CSRF cookie is set with it, and cleared with it). */
/** The CSRF cookie: `__Host-gp_csrf` over HTTPS, `gp_csrf` over plain HTTP (server/http/cookies.ts). */
const csrfCookie = () => (window.location.protocol === "https:" ? cookie("__Host-gp_csrf") : cookie("gp_csrf"));
export const hasSession = () => csrfCookie() !== undefined;

export interface CallOptions {
  body?: unknown;
  /** Sent as X-GP-Payment-Password; held by the caller only for the one call. */
  paymentPassword?: string;
  /** One key per intended change, so that a retry of it cannot move value twice. */
  idempotencyKey?: string;
}

export async function api<T>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", "X-GP-Session": "cookie" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const csrf = csrfCookie();
    if (csrf) headers["X-GP-CSRF"] = csrf;
  }
  if (options.paymentPassword !== undefined) headers["X-GP-Payment-Password"] = options.paymentPassword;
  if (options.idempotencyKey !== undefined) headers["Idempotency-Key"] = options.idempotencyKey;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch {
    throw new ApiError(0, "NETWORK", "the server did not answer");
  }
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as unknown) : null;
  if (!response.ok) {
    const error = (parsed as { error?: { code: string; message: string; details?: Record<string, unknown> } } | null)?.error;
    throw new ApiError(response.status, error?.code ?? "INTERNAL", error?.message ?? response.statusText, error?.details);
  }
  return parsed as T;
}

export const newIdempotencyKey = () => crypto.randomUUID();
