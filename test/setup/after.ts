// Runs once after all test files (see .taprc).
