import type { Job } from 'bullmq'

// Queue `users:q:export`: writes every stored user to USERS_EXPORT_PATH. Added on demand (POST /users/export,
// `playfield users export`) and, debounced, after ingest jobs finish.

export const USERS_EXPORT_QUEUE = 'export'
/** Deduplication id of the debounced export: at most one of them is pending, and each ingest pushes it back. */
export const DEBOUNCED_EXPORT_ID = 'users-export-debounced'

export interface UsersExportJob {
  reason: 'requested' | 'debounced'
  requested_by?: string
}

export interface UsersExportResult {
  path: string
  count: number
  bytes: number
  duration_ms: number
}

export function usersExportProcessor (deps: { exportAll (id: string): Promise<UsersExportResult> }) {
  return async (job: Job<UsersExportJob, UsersExportResult>): Promise<UsersExportResult> => {
    return await deps.exportAll(String(job.id))
  }
}
