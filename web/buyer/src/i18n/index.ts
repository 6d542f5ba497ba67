import { createI18n } from 'vue-i18n'
import en from './en'
import zh from './zh'

export type Locale = 'en' | 'zh'
const STORAGE_KEY = 'b2b.locale'

function initialLocale(): Locale {
  const saved = uni.getStorageSync(STORAGE_KEY)
  if (saved === 'en' || saved === 'zh') return saved
  const system = (uni.getLocale?.() || (typeof navigator !== 'undefined' ? navigator.language : 'en')) || 'en'
  return system.toLowerCase().startsWith('zh') ? 'zh' : 'en'
}

export const i18n = createI18n({ legacy: false, locale: initialLocale(), fallbackLocale: 'en', messages: { en, zh } })

/** BCP 47 tag for Intl (money, dates) of the current locale. */
export function intlLocale(): string {
  return i18n.global.locale.value === 'zh' ? 'zh-CN' : 'en-US'
}

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale
  uni.setStorageSync(STORAGE_KEY, locale)
  applyNavigationTexts()
}

const TABS = ['tab.search', 'tab.cart', 'tab.orders', 'tab.account'] as const

/** The tab bar's texts follow the locale (pages.json holds the English defaults). */
export function applyNavigationTexts(): void {
  TABS.forEach((key, index) => {
    uni.setTabBarItem({ index, text: i18n.global.t(key), fail: () => undefined })
  })
}

export function setTitle(key: string): void {
  uni.setNavigationBarTitle({ title: i18n.global.t(key), fail: () => undefined })
}
