// GraphQL Code Generator (client preset): typed documents for every operation in src/graphql/,
// checked against the composed supergraph's API (the schema the gateway serves), plus the
// trusted-documents manifest the gateway loads (src/gql/persisted-documents.json).
import { createHash } from 'node:crypto'
import type { CodegenConfig } from '@graphql-codegen/cli'

// Plain hex SHA-256 of the document text: the id the gateway's manifest and APQ use.
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

const config: CodegenConfig = {
  schema: 'src/gql/api-schema.graphql',
  documents: ['src/graphql/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { mode: 'embedHashInDocument', hashAlgorithm: sha256 },
      },
      config: {
        documentMode: 'string',
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: 'string', Decimal: 'string', JSON: 'unknown', UUID: 'string' },
      },
    },
  },
}

export default config
