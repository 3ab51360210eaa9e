// Runs once before all test files (see .taprc). The Cassandra fixture hooks in here.
