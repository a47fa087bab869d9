import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    // Powertools writes through the global console in dev mode, so tests can read logs and metrics as data;
    // console output is shown only for failing tests.
    env: { POWERTOOLS_DEV: "true", POWERTOOLS_LOG_LEVEL: "INFO" },
    silent: "passed-only",
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          // Everything but the integration tests (domain, vendors, infra, handlers), so no new folder is skipped.
          include: ["test/**/*.test.ts"],
          exclude: ["test/integration/**"],
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // Starts DynamoDB Local and fauxqs once for all integration files, and stops them.
          globalSetup: ["test/support/global-setup.ts"],
          // Calls go to real servers, and redrive tests wait out visibility timeouts.
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
    ],
    coverage: {
      provider: "v8",
      include: ["functions/domain/**/*.ts"],
      reporter: ["text-summary", "text", "json-summary"],
      thresholds: {
        lines: 95,
        branches: 95,
        functions: 95,
        statements: 95,
      },
    },
  },
});
