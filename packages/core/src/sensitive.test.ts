import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hasSensitiveFields, sensitiveFieldsOf } from './sensitive-fields.js';
import { FORGOTTEN, isForgotten, sensitive, sensitiveMarkOf } from './sensitive.js';

const bySubject = (data: { userId: string }) => data.userId;

describe('sensitive', () => {
  it('marks a copy of the schema, so a command sharing the original stays unmarked', () => {
    const email = z.email();
    const marked = sensitive(email, { subject: bySubject });
    expect(marked).not.toBe(email);
    expect(sensitiveMarkOf(email)).toBeUndefined();
    expect(sensitiveMarkOf(marked)).toMatchObject({ placeholder: FORGOTTEN });
    expect(marked.parse('ben@sequent.io')).toBe('ben@sequent.io');
    expect(marked.safeParse('nope').success).toBe(false);
  });

  it('takes a placeholder of the field type, and requires one for a field that is not a string', () => {
    const age = sensitive(z.number().int(), { subject: bySubject, placeholder: -1 });
    expect(sensitiveMarkOf(age)?.placeholder).toBe(-1);
    // @ts-expect-error a number field must say what it reads as once forgotten
    sensitive(z.number(), { subject: bySubject });
    // @ts-expect-error the placeholder is a value of the field's own type
    sensitive(z.string(), { subject: bySubject, placeholder: 0 });
  });

  it('says whether a value is the default placeholder', () => {
    expect(isForgotten(FORGOTTEN)).toBe(true);
    expect(isForgotten('ben@sequent.io')).toBe(false);
  });
});

describe('sensitiveFieldsOf', () => {
  it('finds marked fields through objects, arrays and optional/nullable/default wrappers', () => {
    const schema = z
      .object({
        userId: z.string(),
        email: sensitive(z.email(), { subject: bySubject }),
        phone: sensitive(z.string(), { subject: bySubject }).optional(),
        address: z.object({ street: sensitive(z.string(), { subject: bySubject }).nullable(), city: z.string() }),
        aliases: z.array(sensitive(z.string(), { subject: bySubject, placeholder: '?' })).default([]),
      })
      .strict();
    expect(sensitiveFieldsOf(schema).map((f) => [f.path, f.placeholder])).toEqual([
      [['email'], FORGOTTEN],
      [['phone'], FORGOTTEN],
      [['address', 'street'], FORGOTTEN],
      [['aliases', null], '?'],
    ]);
    expect(sensitiveFieldsOf(schema)).toBe(sensitiveFieldsOf(schema));
  });

  it('finds none in a schema without marks, and says which aggregates have any', () => {
    const plain = z.object({ n: z.number() });
    expect(sensitiveFieldsOf(plain)).toEqual([]);
    expect(hasSensitiveFields({ events: { added: plain } })).toBe(false);
    expect(hasSensitiveFields({ events: { added: plain, named: z.object({ name: sensitive(z.string(), { subject: bySubject }) }) } })).toBe(
      true,
    );
  });
});
