// The gateway's baseline: a bare Fastify 5 proxy hop (@fastify/reply-from, no logic) in its
// own process, forwarding every request to UPSTREAM.
import Fastify from 'fastify';
import replyFrom from '@fastify/reply-from';

const app = Fastify({ logger: false });
await app.register(replyFrom, { base: process.env.UPSTREAM, undici: { connections: 128 } });
app.all('/*', (request, reply) => reply.from(request.url));
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
