// The baseline: Fastify 5 with nothing but a JSON route, run as its own process.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/baseline', async () => ({ id: '00000000-0000-4000-8000-000000000000', status: 'pending', totalMinor: 2500, currency: 'EUR' }));
app.post('/baseline', async (request, reply) =>
  reply.code(201).send({ id: '00000000-0000-4000-8000-000000000000', received: request.body }),
);
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
