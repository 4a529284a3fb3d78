import { describe, expect, it } from 'vitest';
import { authorCommands } from '../domain/author.js';
import { checkForm, fieldErrors, issuesOf } from './field-errors.js';

describe('field errors', () => {
  it("put the gateway's issues (paths from its request body) on the form's fields, first message each", () => {
    const issues = issuesOf({
      issues: [
        { path: ['payload', 'name'], message: 'Enter a name' },
        { path: ['payload', 'email'], message: 'Enter an e-mail address' },
        { path: ['payload', 'email'], message: 'Enter an e-mail address like ben@sequent.io' },
        { path: ['commandId'], message: 'bad command id' },
        { path: [], message: 'Unrecognized key: "admin"' },
        'not an issue',
      ],
    });
    expect(fieldErrors(issues)).toEqual({
      name: 'Enter a name',
      email: 'Enter an e-mail address',
      commandId: 'bad command id',
      form: 'Unrecognized key: "admin"',
    });
    expect(issuesOf(undefined)).toEqual([]);
  });

  it("check a form with the command's own schema: the trimmed values, or the messages", () => {
    expect(checkForm(authorCommands.add, { name: ' Ben ', email: 'ben@sequent.io' })).toEqual({
      ok: true,
      value: { name: 'Ben', email: 'ben@sequent.io' },
    });
    expect(checkForm(authorCommands.add, { name: '', email: 'nope' })).toEqual({
      ok: false,
      fields: { name: 'Enter a name', email: 'Enter an e-mail address like ben@sequent.io' },
    });
  });
});
