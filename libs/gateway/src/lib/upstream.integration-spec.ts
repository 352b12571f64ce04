import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { waitFor } from '@keelson/testing';
import { Upstream, UpstreamFailure, type ResilienceSettings } from './upstream';

// One upstream's policies against a real HTTP server on 127.0.0.1: which calls are retried,
// and what a spent budget answers.
describe('Upstream', () => {
  let server: Server;
  let origin: string;
  let answer: (request: IncomingMessage, response: ServerResponse) => void;
  const seen: { method: string; closedEarly: boolean }[] = [];
  const settings: ResilienceSettings = {
    timeoutMs: 300,
    breakerFailures: 50,
    breakerHalfOpenAfterMs: 1_000,
    maxConcurrent: 8,
    maxAttempts: 2,
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      const call = { method: request.method ?? '', closedEarly: false };
      seen.push(call);
      response.on('close', () => {
        call.closedEarly = !response.writableFinished;
      });
      answer(request, response);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  beforeEach(() => {
    seen.length = 0;
  });

  const call = (upstream: Upstream, method: string) =>
    upstream.call({
      method,
      path: '/thing',
      headers: {},
      body: method === 'GET' ? undefined : Buffer.from('{}'),
      abort: new AbortController(),
    });

  const text = async (body: Buffer | Readable): Promise<string> => {
    if (Buffer.isBuffer(body)) return body.toString();
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString();
  };

  const failureOf = async (promise: Promise<unknown>): Promise<UpstreamFailure> => {
    try {
      await promise;
    } catch (error) {
      if (error instanceof UpstreamFailure) return error;
      throw error;
    }
    throw new Error('the call succeeded');
  };

  it('retries an idempotent call after a 5xx and answers with the retry’s result', async () => {
    const upstream = new Upstream('orders', origin, settings);
    let calls = 0;
    answer = (_request, response) => {
      calls += 1;
      response.writeHead(calls === 1 ? 503 : 200, { 'content-type': 'application/json' }).end('{"ok":true}');
    };

    const result = await call(upstream, 'GET');

    expect(result.statusCode).toBe(200);
    expect(JSON.parse(await text(result.body))).toEqual({ ok: true });
    expect(seen.map((c) => c.method)).toEqual(['GET', 'GET']);
    await upstream.close();
  });

  it('never retries a non-idempotent call', async () => {
    const upstream = new Upstream('orders', origin, settings);
    answer = (_request, response) => {
      response.writeHead(503).end();
    };

    const failure = await failureOf(call(upstream, 'POST'));

    expect(failure.kind).toBe('server-error');
    expect(failure.upstreamStatus).toBe(503);
    expect(seen.map((c) => c.method)).toEqual(['POST']);
    await upstream.close();
  });

  it('answers a spent budget with a timeout, closes the upstream request and does not retry it', async () => {
    const upstream = new Upstream('orders', origin, settings);
    answer = () => undefined; // never answers

    const failure = await failureOf(call(upstream, 'GET'));

    expect(failure.kind).toBe('timeout');
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toHaveLength(1);
    await upstream.close();
    expect(seen[0]?.closedEarly).toBe(true);
  });

  it('answers a client that went away as such, without calling the upstream again', async () => {
    const upstream = new Upstream('orders', origin, settings);
    const arrived = new Promise<void>((resolve) => {
      answer = () => {
        resolve(); // and never answers
      };
    });
    const abort = new AbortController();
    const pending = upstream.call({ method: 'GET', path: '/thing', headers: {}, body: undefined, abort });
    await arrived;
    abort.abort();

    expect((await failureOf(pending)).kind).toBe('client-gone');
    expect(seen).toHaveLength(1);
    await upstream.close();
  });

  it('streams a body of unknown length as it arrives, and stops the upstream when the reader goes away', async () => {
    const upstream = new Upstream('replay', origin, settings);
    const abort = new AbortController();
    answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n'); // and the stream stays open
    };

    const result = await upstream.call({ method: 'GET', path: '/events', headers: {}, body: undefined, abort });

    expect(result.body).toBeInstanceOf(Readable);
    const body = result.body as Readable;
    const ended = new Promise<Error | undefined>((resolve) => {
      body.once('error', resolve).once('end', () => {
        resolve(undefined);
      });
    });
    const [first] = (await once(body, 'data')) as [Buffer];
    expect(first.toString()).toBe('data: one\n\n');
    abort.abort(); // the client went away
    expect(await ended).toBeInstanceOf(Error); // the stream ends in an error, never as if complete
    await waitFor('the upstream to see its response closed', () => Promise.resolve(seen[0]?.closedEarly || undefined));
    await upstream.close();
  });
});
