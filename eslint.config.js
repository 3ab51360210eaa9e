import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['.cache/**', 'build/**', 'test-artifacts/**', 'dist/**', 'src/grpc/generated/**', 'data/**', 'coverage/**', '.tap/**'] }),
  {
    rules: {
      'max-len': ['error', { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true }]
    }
  }
]
