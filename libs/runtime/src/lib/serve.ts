import type { IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { redactConfig, type BaseConfig } from '@keelson/config';
import { ReadinessState } from '@keelson/health';
import {
  httpRequestDuration,
  logRequest,
  noteHttpRoute,
  observeWithExemplar,
  requestIdFor,
  REQUEST_ID_HEADER,
  stopTracing,
} from '@keelson/observability';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import type { z } from 'zod';
import { ProblemDetailsFilter } from './problem-details';
import type { ServiceDefinition } from './run-service';
import { globalValidationPipe } from './validation';

export async function serve<S extends z.ZodObject>(definition: ServiceDefinition<S>, config: z.output<S> & BaseConfig): Promise<void> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => requestIdFor(req),
  });
  const app = await NestFactory.create<NestFastifyApplication>(await definition.appModule(config), adapter, {
    bufferLogs: true,
    abortOnError: false,
  });
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalPipes(globalValidationPipe());

  const fastify = app.getHttpAdapter().getInstance();
  const readiness = app.get(ReadinessState);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    if (request.routeOptions.url !== undefined) noteHttpRoute(request.routeOptions.url);
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    // While draining, close keep-alive connections after each response so the listener can stop.
    if (readiness.draining) void reply.header('connection', 'close');
    done(null, payload);
  });
  // The response is bound to the request's trace context, so the exemplar and the log line get its trace id.
  fastify.addHook('onResponse', (request, reply, done) => {
    observeWithExemplar(
      httpRequestDuration,
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1_000,
    );
    logRequest({
      id: request.id,
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      responseTimeMs: reply.elapsedTime,
    });
    done();
  });
  if (definition.ownOpenApi !== false) {
    const openapi = SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle(`Keelson ${definition.name}`).setDescription(definition.description).setVersion('1').build(),
    );
    fastify.get('/openapi.json', (_request, reply) => reply.send(openapi));
  }

  if (definition.configure) await definition.configure(app);
  installShutdown(definition.name, app, { graceMs: config.SHUTDOWN_GRACE_MS, drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS }, logger);
  await app.listen(config.PORT, config.HOST);
  logger.log(
    { config: redactConfig(definition.configSchema, config) },
    `${definition.name} listening on http://${config.HOST}:${config.PORT}`,
  );
}

/**
 * SIGTERM/SIGINT: readiness turns 503 at once; after the drain delay the listener stops
 * accepting, in-flight requests and Kafka batches finish, pools close and traces flush —
 * or the grace period runs out and the process exits non-zero.
 */
function installShutdown(
  name: string,
  app: NestFastifyApplication,
  timing: { graceMs: number; drainDelayMs: number },
  logger: Logger,
): void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    app.get(ReadinessState).draining = true;
    logger.log(`${name} received ${signal}; draining (grace ${timing.graceMs} ms)`);
    const deadline = setTimeout(() => {
      logger.error(`${name} did not finish within ${timing.graceMs} ms; exiting`);
      process.exit(1);
    }, timing.graceMs);
    deadline.unref();
    delay(timing.drainDelayMs)
      .then(() => app.close())
      .then(stopTracing)
      .then(() => {
        logger.log(`${name} stopped`);
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, `${name} failed to stop cleanly`);
        process.exit(1);
      });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
