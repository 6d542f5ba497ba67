// The one way the portal talks to the API: POST /graphql with the operation's SHA-256 as a trusted
// (persisted) document, the bearer token, and errors normalised to codes (docs/frontend.md).
import type { TypedDocumentString } from '../gql/graphql'
import { signOut, state } from './session'

/** The gateway's URL: same origin on H5 (served under /app/); absolute for mini-programs. */
export const API_URL: string = (import.meta.env.VITE_API_URL as string | undefined) || '/graphql'

export interface ApiError {
  message: string
  code: string
  path?: (string | number)[]
}

export interface ApiResult<T> {
  data: T | null
  errors: ApiError[] // request errors (no data) or field errors next to partial data
  status: number
}

interface WireError { message?: string; path?: (string | number)[]; extensions?: { code?: string } }
interface WireBody<T> { data?: T | null; errors?: WireError[] }

function post<T>(body: Record<string, unknown>, operationName: string): Promise<{ status: number; body: WireBody<T> }> {
  const header: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
    'x-apollo-operation-name': operationName,
  }
  if (state.session) header.authorization = `Bearer ${state.session.token}`
  return new Promise((resolve) => {
    uni.request({
      url: API_URL,
      method: 'POST',
      header,
      data: body,
      dataType: 'json',
      success: (res) => resolve({ status: res.statusCode, body: (res.data || {}) as WireBody<T> }),
      fail: (err) => resolve({ status: 0, body: { errors: [{ message: err.errMsg || 'network error', extensions: { code: 'NETWORK_ERROR' } }] } }),
    })
  })
}

function operationNameOf(text: string): string {
  const match = /(?:query|mutation|subscription)\s+(\w+)/.exec(text)
  return match ? match[1] : ''
}

/** Run a generated document. Sends only its hash (the gateway's manifest holds the text); the text
 * itself only when a gateway without the portal's manifest answers PERSISTED_QUERY_NOT_FOUND. */
export async function request<R, V>(document: TypedDocumentString<R, V>, variables?: V): Promise<ApiResult<R>> {
  const text = document.toString()
  const hash = (document.__meta__ as { hash?: string } | undefined)?.hash
  const operationName = operationNameOf(text)
  const base: Record<string, unknown> = { operationName, variables: variables ?? {} }
  let reply = hash
    ? await post<R>({ ...base, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }, operationName)
    : await post<R>({ ...base, query: text }, operationName)
  const codes = (reply.body.errors || []).map((e) => e.extensions?.code)
  if (hash && codes.includes('PERSISTED_QUERY_NOT_FOUND')) {
    reply = await post<R>({ ...base, query: text }, operationName) // a gateway without the portal's manifest
  }
  const errors: ApiError[] = (reply.body.errors || []).map((e) => ({
    message: e.message || 'error',
    code: e.extensions?.code || (reply.status >= 500 ? 'SERVER_ERROR' : 'ERROR'),
    path: e.path,
  }))
  if (reply.status === 401 || errors.some((e) => e.code === 'UNAUTHENTICATED')) {
    signOut() // an expired or revoked token: sign in again
    uni.reLaunch({ url: '/pages/login/index' })
  }
  if (!reply.body.data && errors.length === 0 && reply.status !== 200) {
    errors.push({ message: `HTTP ${reply.status}`, code: 'HTTP_' + reply.status })
  }
  return { data: reply.body.data ?? null, errors, status: reply.status }
}

export interface UserError { field?: string[] | null; message: string; code: string }

/** A random idempotency key per attempt (placeOrder, quoteRequest): a retry of the same attempt reuses it. */
export function idempotencyKey(prefix: string): string {
  const random = Math.random().toString(36).slice(2) + Date.now().toString(36)
  return `${prefix}-${random}`
}
