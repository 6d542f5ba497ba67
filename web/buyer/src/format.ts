// Money and dates per locale (Intl), money kept as the API's decimal string until formatting.
import { intlLocale } from './i18n'

export interface MoneyLike { amount: string; currency: string }

export function money(value: MoneyLike | null | undefined): string {
  if (!value) return '—'
  const format = new Intl.NumberFormat(intlLocale(), { style: 'currency', currency: value.currency })
  // Intl formats a decimal string exactly (no float rounding of large amounts).
  return format.format(value.amount as unknown as number)
}

export function dateTime(value: string | null | undefined): string {
  if (!value) return '—'
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(value))
}

export function date(value: string | null | undefined): string {
  if (!value) return '—'
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium' }).format(new Date(value))
}
