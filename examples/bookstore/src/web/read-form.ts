import type { IncomingMessage } from 'node:http';

/** A posted form's fields, or why it was not read (with the HTTP status to answer). */
export type ReadFormResult =
  | { readonly status: 'ok'; readonly fields: Readonly<Record<string, string>> }
  | { readonly status: 'refused'; readonly httpStatus: 413 | 415; readonly message: string };

/**
 * Read an `application/x-www-form-urlencoded` body (what an HTML form posts), refusing another
 * content type (415) and a body over `maxBytes` (413, the rest discarded). A field sent
 * twice keeps its first value.
 */
export async function readForm(req: IncomingMessage, maxBytes: number): Promise<ReadFormResult> {
  const type = ((req.headers['content-type'] ?? '').split(';')[0] ?? '').trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    return { status: 'refused', httpStatus: 415, message: 'This page takes the forms it shows (application/x-www-form-urlencoded).' };
  }
  const tooLarge = { status: 'refused', httpStatus: 413, message: `A form may have at most ${maxBytes} bytes.` } as const;
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
    req.resume();
    return tooLarge;
  }
  const body = await new Promise<Buffer | undefined>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      // Past the limit: answer now; the rest is read and dropped, so the answer can still be sent.
      req.off('data', onData);
      req.resume();
      resolve(undefined);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
  if (body === undefined) return tooLarge;
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) fields[name] ??= value;
  return { status: 'ok', fields };
}
