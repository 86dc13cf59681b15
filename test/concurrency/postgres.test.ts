// The concurrency matrix of issue 21 (test/concurrency/matrix.ts) on PostgreSQL.
import { raceMatrix } from './matrix.ts';

raceMatrix('postgres');
