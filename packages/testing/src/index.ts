export { createTestDatabase, serverDatabaseUrl } from './test-database.js';
export type { TestDatabase } from './test-database.js';
export { given } from './given-when-then.js';
export type { Expectation, GivenStep, WhenStep } from './given-when-then.js';
export { seededRandom } from './seeded-random.js';
