import { createSSRApp } from 'vue'
import App from './App.vue'
import { i18n } from './i18n'

// uni-app's entry: the same app object builds for H5 and the mini-program targets.
export function createApp() {
  const app = createSSRApp(App)
  app.use(i18n)
  return { app }
}
