// Mutation testing of the money rules (`npm run mutation`; docs/DEVELOPING.md "Mutation testing").
// Stryker changes one thing at a time in the modules below (a `<` for a `<=`, a 30 for a 1, a
// branch removed) and runs the tests that cover it: a change no test notices is a rule no test
// states. Not part of `npm test` (too slow for two cores); run it before calling a change to these
// files done. Incremental: a rerun tests only mutants in code or tests that changed since the last
// run (reports/stryker-incremental.json).
//
// One run per scope keeps the test set small: MUTATION_SCOPE=core (default) | store | http.
const SCOPES = {
  // The pure domain: the state machine, dunning (grace, retries, caps), declines, periods, time, money, incidents, the backup card, and the rest of src/core's logic.
  core: {
    mutate: [
      'src/core/machine.ts',
      'src/core/dunning.ts',
      'src/core/declines.ts',
      'src/core/period.ts',
      'src/core/time.ts',
      'src/core/money.ts',
      'src/core/proration.ts',
      // Outage-aware grace and the backup card decide when a card is charged too (#18).
      'src/core/incidents.ts',
      'src/core/backup.ts',
      // The gateway's pace (#19), invoice documents (#23), Intl formatters, command errors, and the
      // policy backtest (the operator's estimate of a policy). Not here: types.ts, clock.ts and the
      // messages/ catalogues (declarations, the system clock and translated text).
      'src/core/pace.ts',
      'src/core/documents.ts',
      'src/core/intl.ts',
      'src/core/errors.ts',
      'src/core/backtest.ts',
    ],
    testFiles: ['test/core/*.test.ts'],
  },
  // The statements that feed the machine: state loading (the card's 30-day history), claims, saving steps.
  store: {
    mutate: ['src/store/billing.ts', 'src/store/subscriptions.ts'],
    testFiles: ['test/store/*.test.ts', 'test/engine/answers.test.ts'],
  },
  // Idempotency and authorization at the edge.
  http: {
    mutate: ['src/http/idempotency.ts', 'src/http/auth.ts', 'src/http/auth-throttle.ts', 'src/engine/admin-keys.ts'],
    // The unit tests only, which state each rule in seconds. The end-to-end ones (test/api/idempotency,
    // test/security/admin-keys and access) state the same through a whole service and stay in
    // `npm test`, but here they would cost a service start for every mutant: the tap runner runs
    // every file that covers a mutant, in the order the glob finds them, not the order listed.
    testFiles: ['test/http/*.test.ts', 'test/engine/admin-keys.test.ts'],
  },
};
const scope = process.env.MUTATION_SCOPE ?? 'core';
// Report name (default: the scope), to keep a run over some files (--mutate) beside the scope's.
const report = process.env.MUTATION_REPORT ?? scope;
if (!SCOPES[scope]) throw new Error(`MUTATION_SCOPE must be one of ${Object.keys(SCOPES).join(', ')}`);

export default {
  mutate: SCOPES[scope].mutate,
  testRunner: 'tap',
  tap: {
    testFiles: SCOPES[scope].testFiles,
    // Node runs the .ts test files itself (type stripping); the TAP reporter is what Stryker reads.
    nodeArgs: ['--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  // No type checker: the project's TypeScript is 7 (the native compiler), whose API Stryker's
  // checker and tsconfig rewriting do not speak yet; Node runs the mutants with the types stripped.
  // A mutant that would not type-check therefore runs like any other (counted, never skipped).
  tsconfigFile: 'tsconfig.stryker-none.json',
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 60_000,
  incremental: true,
  incrementalFile: `reports/mutation/${report}-incremental.json`,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${report}.html` },
  jsonReporter: { fileName: `reports/mutation/${report}.json` },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
