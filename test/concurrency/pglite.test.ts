// The concurrency matrix of issue 21 (test/concurrency/matrix.ts) on PGlite.
import { raceMatrix } from './matrix.ts';

raceMatrix('pglite');
