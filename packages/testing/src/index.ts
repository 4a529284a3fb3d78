export { createTestDatabase, serverDatabaseUrl } from './test-database.js';
export type { TestDatabase } from './test-database.js';
export { given } from './given-when-then.js';
export type { EventOf, Expectation, GivenEvent, GivenStep, SpecCommand, WhenStep } from './given-when-then.js';
export { seededRandom } from './seeded-random.js';
