import type { IncomingMessage } from 'node:http';
import { ErrorCode, RatchetError } from '@ratchet/core';

function tooLarge(size: number, limit: number, declared: boolean): RatchetError {
  const what = declared ? `declares ${size} bytes` : `exceeds ${limit} bytes`;
  return new RatchetError(ErrorCode.PAYLOAD_TOO_LARGE, `request body ${what}; the limit is ${limit}`, { details: { size, limit } });
}

/**
 * Read a request body of at most `maxBytes` within `timeoutMs`. Throws RatchetError:
 * PAYLOAD_TOO_LARGE (from Content-Length before reading anything, else as soon as the count
 * passes the limit: nothing past it is buffered), MALFORMED_REQUEST with `details.reason`
 * `body-timeout` (retryable: the sender was slow) or `body-aborted`. What is left of a refused
 * body is drained unbuffered so the connection can answer.
 */
export async function readBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(Number(declared), maxBytes, true);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: RatchetError | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (error === undefined) {
        resolve(Buffer.concat(chunks, size));
        return;
      }
      req.on('error', () => undefined);
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) finish(tooLarge(size, maxBytes, false));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const aborted = (cause?: unknown): RatchetError =>
      new RatchetError(ErrorCode.MALFORMED_REQUEST, 'the request body ended early (connection closed)', {
        details: { reason: 'body-aborted' },
        ...(cause === undefined ? {} : { cause }),
      });
    const onError = (cause: Error): void => finish(aborted(cause));
    const onClose = (): void => finish(aborted());
    const timer = setTimeout(
      () =>
        finish(
          new RatchetError(ErrorCode.MALFORMED_REQUEST, `the request body did not arrive within ${timeoutMs} ms`, {
            retryable: true,
            details: { reason: 'body-timeout', timeoutMs },
          }),
        ),
      Math.max(1, timeoutMs),
    );
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}
