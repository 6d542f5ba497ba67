// The signed-in session: the gateway's bearer token for one business unit, kept in uni storage
// (localStorage on H5, the mini-program's storage elsewhere). Nothing else about the user is stored.
import { reactive } from 'vue'

export interface Session {
  token: string
  expiresAt: string | null
  organizationId: string | null
  email: string
  tenant: string
  roles: string[]
  scopes: string[]
}

const KEY = 'b2b.session'

function load(): Session | null {
  const raw = uni.getStorageSync(KEY)
  if (!raw || typeof raw !== 'object') return null
  const session = raw as Session
  if (session.expiresAt && Date.parse(session.expiresAt) <= Date.now()) return null
  return session
}

export const state = reactive<{ session: Session | null }>({ session: load() })

export function signIn(session: Session): void {
  state.session = session
  uni.setStorageSync(KEY, session)
}

export function signOut(): void {
  state.session = null
  uni.removeStorageSync(KEY)
}

export function can(scope: string): boolean {
  return state.session?.scopes.includes(scope) ?? false
}

/** Send a signed-out visitor to the sign-in page; true when signed in. */
export function requireSession(): boolean {
  if (state.session) return true
  uni.reLaunch({ url: '/pages/login/index' })
  return false
}
