import { defineConfig } from 'vite'
import uni from '@dcloudio/vite-plugin-uni'

// H5: served by the gateway under /app/ (GATEWAY_APP_DIR; base in src/manifest.json), so /graphql is
// same-origin. `npm run dev:h5` proxies /graphql to the `make up` gateway.
export default defineConfig({
  plugins: [uni()],
  define: {
    __VUE_PROD_DEVTOOLS__: false,
    __INTLIFY_JIT_COMPILATION__: true,
    __INTLIFY_DROP_MESSAGE_COMPILER__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  build: { sourcemap: false, reportCompressedSize: false },
  server: { proxy: { '/graphql': 'http://127.0.0.1:4000' } },
})
