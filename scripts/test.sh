#!/usr/bin/env bash
# The test command (`npm test`). Two passes over real components the tests start themselves:
#   1. every test file: a private redis-server per file, one Cassandra per run;
#   2. the Redis-backed files again, each on a private Redis Cluster (3 masters + 3 replicas);
#   3. sessions on a 3-node Cassandra cluster with a node killed under load (npm run test:cassandra-cluster).
# `npm test -- <files…>` runs just those files (pass 1); `npm run test:cluster [-- <files…>]` runs pass 2 only.
set -u
cd "$(dirname "$0")/.."

# Every file whose code path touches Redis, run again on a cluster (see docs/architecture.md, "Redis Cluster").
# Not test/docs/*: they run documented commands, each of which starts its own single redis-server.
CLUSTER_FILES=(
  test/routes/auth.test.ts
  test/failure/auth-attacks.test.ts
  test/domains/leaderboard/service.test.ts
  test/routes/leaderboard.test.ts
  test/grpc/leaderboard.test.ts
  test/routes/categories.test.ts
  test/domains/shapes/service.test.ts
  test/grpc/shapes.test.ts
  test/cli/shapes.test.ts
  test/domains/sessions/redis-store.test.ts
  test/routes/sessions.test.ts
  test/cluster/sessions-cluster.test.ts
  test/routes/ads.test.ts
  test/routes/ads-concurrency.test.ts
  test/routes/ads-upstream.test.ts
  test/domains/users/redis-store.test.ts
  test/routes/users.test.ts
  test/grpc/users.test.ts
  test/jobs/users-ingest.test.ts
  test/jobs/users-worker-kill.test.ts
  test/scale/replicas.test.ts
  test/security/logins.test.ts
  test/security/tokens.test.ts
  test/security/production.test.ts
  test/security/categories-limits.test.ts
  test/security/ads-keys.test.ts
  test/security/boards-quota.test.ts
  test/security/sessions-bounds.test.ts
  test/security/ingest-bounds.test.ts
  test/security/pii.test.ts
  test/compat/grpc-rich-status.test.ts
  test/compat/scores-put.test.ts
  test/compat/sessions-country.test.ts
  test/compat/ingest-auth.test.ts
  test/compat/ads-sdk-values.test.ts
)

cluster_pass () {
  if [ "$#" -eq 0 ]; then set -- "${CLUSTER_FILES[@]}"; fi
  [ "$#" -eq 0 ] && return 0
  echo "# pass 2: Redis Cluster"
  PLAYFIELD_TEST_REDIS=cluster npx tap "$@"
}

if [ "${1:-}" = "--cluster" ]; then
  shift
  cluster_pass "$@"
  exit $?
fi
if [ "$#" -gt 0 ]; then exec npx tap "$@"; fi

npx tap
single=$?
cluster_pass
cluster=$?
echo "# pass 3: Cassandra cluster"
npm run test:cassandra-cluster
cassandra=$?
exit $(( single != 0 || cluster != 0 || cassandra != 0 ))
