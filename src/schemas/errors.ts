import { Type } from 'typebox'

// The one error body of every REST route: `{ message, code }` (details for bad input, e.g. the index of a bad
// entry). The ads routes keep the original ad service's `{ success: false, message }` shape: see schemas/ads.ts.
export const ErrorSchema = Type.Object({
  message: Type.String(),
  code: Type.String(),
  details: Type.Optional(Type.Unknown())
}, { $id: 'Error' })
