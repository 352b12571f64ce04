import { mergeOpenApi, type JsonObject, type MergeOpenApiInput, type OpenApiDocument, type OpenApiSource } from './merge';

// Small builders for what @nestjs/swagger 11 emits: OpenAPI 3.0.0, `Controller_method`
// operation ids, controller tags, schemas under components with `#/components/schemas/X` refs.
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function operation(operationId: string, tag: string, response?: JsonObject): JsonObject {
  return {
    operationId,
    parameters: [],
    responses: response
      ? { '200': { description: '', content: { 'application/json': { schema: response } } } }
      : { '201': { description: '' } },
    tags: [tag],
  };
}

function nestDocument(name: string, paths: Record<string, JsonObject>, schemas: Record<string, JsonObject> = {}): OpenApiDocument {
  return {
    openapi: '3.0.0',
    paths,
    info: { title: `Keelson ${name}`, description: `The ${name} service`, version: '1', contact: {} },
    tags: [],
    servers: [],
    components: { schemas },
  };
}

const page = (items: string): JsonObject => ({
  type: 'object',
  properties: { items: { type: 'array', items: ref(items) }, nextCursor: { type: 'string', nullable: true } },
  required: ['items'],
});
const order: JsonObject = { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] };
const cacheEntry: JsonObject = { type: 'object', properties: { key: { type: 'string' } }, required: ['key'] };

const ordersService = (): OpenApiSource => ({
  name: 'orders',
  pathPrefixes: ['/api/v1/orders'],
  document: nestDocument(
    'orders',
    {
      '/api/v1/orders': {
        get: operation('OrdersController_list', 'orders', ref('Page')),
        post: operation('OrdersController_create', 'orders'),
      },
      '/api/v1/orders/{id}': { get: operation('OrdersController_get', 'orders', ref('Order')) },
      '/api/v1/ordersheets': { get: operation('SheetsController_list', 'sheets') },
      '/api/v1/customers': { get: operation('CustomersController_list', 'customers') },
      '/health/live': { get: operation('HealthController_live', 'health') },
      '/metrics': { get: operation('MetricsController_metrics', 'metrics') },
      '/openapi.json': { get: operation('OpenApi_get', 'openapi') },
    },
    { Page: page('Order'), Order: order, Unused: { type: 'object' } },
  ),
});

const cacheService = (): OpenApiSource => ({
  name: 'cache-invalidator',
  pathPrefixes: ['/api/v1/cache'],
  document: nestDocument(
    'cache-invalidator',
    {
      '/api/v1/cache/entries': { get: operation('CacheController_list', 'cache', ref('Page')) },
      '/api/v1/cache/latest': { get: operation('CacheController_latest', 'cache', ref('LatestPage')) },
      '/health/ready': { get: operation('HealthController_ready', 'health') },
    },
    { Page: page('CacheEntry'), CacheEntry: cacheEntry, LatestPage: { type: 'object', properties: { page: ref('Page') } } },
  ),
});

const scoped = { scopes: ['orders:read'] };

function merge(services: OpenApiSource[], security: MergeOpenApiInput['security'] = () => scoped): OpenApiDocument {
  return mergeOpenApi({ title: 'Keelson API', version: '1', description: 'Everything behind the gateway', services, security });
}

const schemasOf = (document: OpenApiDocument) => document.components?.schemas ?? {};
const responseSchema = (document: OpenApiDocument, path: string, method = 'get') =>
  (document.paths?.[path]?.[method] as { responses: Record<string, { content: Record<string, { schema: unknown }> }> }).responses['200']
    ?.content['application/json']?.schema;

describe('mergeOpenApi', () => {
  it('produces one OpenAPI 3.1 document with the given info and a relative server', () => {
    const sut = merge([ordersService()]);

    expect(sut.openapi).toBe('3.1.0');
    expect(sut.info).toEqual({ title: 'Keelson API', version: '1', description: 'Everything behind the gateway' });
    expect(sut.servers).toEqual([{ url: '/' }]);
  });

  it("keeps only the paths under a service's prefixes, on a segment boundary", () => {
    const sut = merge([ordersService(), cacheService()]);

    expect(Object.keys(sut.paths ?? {})).toEqual([
      '/api/v1/orders',
      '/api/v1/orders/{id}',
      '/api/v1/cache/entries',
      '/api/v1/cache/latest',
    ]);
  });

  it('never publishes health, metrics or the services’ own openapi.json, even under a catch-all prefix', () => {
    const sut = merge([{ ...ordersService(), pathPrefixes: ['/'] }]);

    const paths = Object.keys(sut.paths ?? {});
    expect(paths).toContain('/api/v1/customers');
    expect(paths.filter((path) => path.startsWith('/health') || path === '/metrics' || path === '/openapi.json')).toEqual([]);
  });

  it('keeps operation tags and prefixes the later of two colliding operation ids with the service name', () => {
    const auth: OpenApiSource = {
      name: 'auth',
      pathPrefixes: ['/api/v1/auth'],
      document: nestDocument('auth', { '/api/v1/auth/orders': { get: operation('OrdersController_list', 'auth') } }),
    };

    const sut = merge([ordersService(), auth]);

    expect(sut.paths?.['/api/v1/orders']?.get).toMatchObject({ operationId: 'OrdersController_list', tags: ['orders'] });
    expect(sut.paths?.['/api/v1/auth/orders']?.get).toMatchObject({ operationId: 'Auth_OrdersController_list', tags: ['auth'] });
  });

  it('renames a schema another service defines differently and rewrites its refs in paths and schemas', () => {
    const sut = merge([ordersService(), cacheService()]);

    const schemas = schemasOf(sut);
    expect(schemas.Page).toMatchObject({ properties: { items: { items: ref('Order') } } });
    expect(schemas.CacheInvalidatorPage).toMatchObject({ properties: { items: { items: ref('CacheEntry') } } });
    expect(responseSchema(sut, '/api/v1/cache/entries')).toEqual(ref('CacheInvalidatorPage'));
    expect(responseSchema(sut, '/api/v1/orders')).toEqual(ref('Page'));
    expect(schemas.LatestPage).toEqual({ type: 'object', properties: { page: ref('CacheInvalidatorPage') } });
  });

  it('renames a schema that only differs through a renamed reference', () => {
    const wrapper: JsonObject = { type: 'object', properties: { page: ref('Page') } };
    const orders = ordersService();
    const cache = cacheService();
    orders.document = nestDocument(
      'orders',
      { '/api/v1/orders': { get: operation('A', 'orders', ref('Wrapper')) } },
      { Wrapper: wrapper, Page: page('Order'), Order: order },
    );
    cache.document = nestDocument(
      'cache',
      { '/api/v1/cache': { get: operation('B', 'cache', ref('Wrapper')) } },
      { Wrapper: wrapper, Page: page('CacheEntry'), CacheEntry: cacheEntry },
    );

    const sut = merge([orders, cache]);

    expect(schemasOf(sut).Wrapper).toEqual({ type: 'object', properties: { page: ref('Page') } });
    expect(schemasOf(sut).CacheInvalidatorWrapper).toEqual({ type: 'object', properties: { page: ref('CacheInvalidatorPage') } });
    expect(responseSchema(sut, '/api/v1/cache')).toEqual(ref('CacheInvalidatorWrapper'));
  });

  it('keeps a schema two services define identically once', () => {
    const money: JsonObject = { type: 'object', properties: { amountMinor: { type: 'integer' }, currency: { type: 'string' } } };
    const orders = ordersService();
    orders.document = nestDocument('orders', { '/api/v1/orders': { get: operation('A', 'orders', ref('Money')) } }, { Money: money });
    const payments: OpenApiSource = {
      name: 'payments',
      pathPrefixes: ['/api/v1/payments'],
      // Same content, members in another order.
      document: nestDocument(
        'payments',
        { '/api/v1/payments': { get: operation('B', 'payments', ref('Money')) } },
        {
          Money: { properties: { currency: { type: 'string' }, amountMinor: { type: 'integer' } }, type: 'object' },
        },
      ),
    };

    const sut = merge([orders, payments]);

    expect(Object.keys(schemasOf(sut)).filter((name) => name.endsWith('Money'))).toEqual(['Money']);
    expect(responseSchema(sut, '/api/v1/payments')).toEqual(ref('Money'));
  });

  it('publishes only the components the published paths reach', () => {
    const sut = merge([ordersService()]);

    expect(Object.keys(schemasOf(sut)).sort()).toEqual(['Order', 'Page', 'Problem']);
  });

  it('turns 3.0 nullable and boolean exclusive bounds into their 3.1 form', () => {
    const orders = ordersService();
    orders.document = nestDocument(
      'orders',
      {
        '/api/v1/orders/{id}': {
          get: {
            ...operation('OrdersController_get', 'orders', ref('Order')),
            parameters: [{ name: 'cursor', in: 'query', required: false, schema: { type: 'string', nullable: true } }],
          },
        },
      },
      {
        Line: { type: 'object', properties: { quantity: { type: 'integer' } } },
        Order: {
          type: 'object',
          properties: {
            note: { type: 'string', nullable: true, example: 'leave at the door' },
            status: { type: 'string', enum: ['pending', 'paid'], nullable: true },
            firstLine: { nullable: true, type: 'object', allOf: [ref('Line')] },
            lastLine: { $ref: '#/components/schemas/Line', nullable: true },
            lines: { type: 'array', items: { type: 'object', nullable: true, properties: { sku: { type: 'string', nullable: false } } } },
            total: { type: 'number', minimum: 0, exclusiveMinimum: true },
            discount: { type: 'number', maximum: 100, exclusiveMaximum: false },
          },
        },
      },
    );

    const sut = merge([orders]);

    expect(schemasOf(sut).Order).toEqual({
      type: 'object',
      properties: {
        note: { type: ['string', 'null'], example: 'leave at the door' },
        status: { type: ['string', 'null'], enum: ['pending', 'paid', null] },
        firstLine: { anyOf: [ref('Line'), { type: 'null' }] },
        lastLine: { anyOf: [ref('Line'), { type: 'null' }] },
        lines: { type: 'array', items: { type: ['object', 'null'], properties: { sku: { type: 'string' } } } },
        total: { type: 'number', exclusiveMinimum: 0 },
        discount: { type: 'number', maximum: 100 },
      },
    });
    expect(sut.paths?.['/api/v1/orders/{id}']?.get).toMatchObject({
      parameters: [{ name: 'cursor', schema: { type: ['string', 'null'] } }],
    });
  });

  it('marks public operations open and scoped ones bearer-protected with their scopes', () => {
    const calls: string[] = [];
    const sut = merge([ordersService()], (method, path) => {
      calls.push(`${method} ${path}`);
      return method === 'GET' && path === '/api/v1/orders/{id}' ? { public: true } : { scopes: ['orders:write'] };
    });

    expect(calls).toEqual(['GET /api/v1/orders', 'POST /api/v1/orders', 'GET /api/v1/orders/{id}']);
    expect(sut.components?.securitySchemes).toEqual({ bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } });
    const open = sut.paths?.['/api/v1/orders/{id}']?.get as JsonObject;
    const scopedOperation = sut.paths?.['/api/v1/orders']?.post as JsonObject;
    expect(open.security).toEqual([]);
    expect(Object.keys(open.responses as JsonObject)).toEqual(['200', '429', '503']);
    expect(scopedOperation.security).toEqual([{ bearer: ['orders:write'] }]);
    expect(scopedOperation.responses).toEqual({
      '201': { description: '' },
      '401': { $ref: '#/components/responses/Unauthorized' },
      '403': { $ref: '#/components/responses/Forbidden' },
      '429': { $ref: '#/components/responses/TooManyRequests' },
      '503': { $ref: '#/components/responses/ServiceUnavailable' },
    });
  });

  it('keeps a 403 the service documents itself and defines the shared problem responses', () => {
    const orders = ordersService();
    const own403 = { description: 'Not your order' };
    orders.document = nestDocument('orders', {
      '/api/v1/orders': { get: { ...operation('A', 'orders'), responses: { '200': { description: '' }, '403': own403 } } },
    });

    const sut = merge([orders]);

    expect((sut.paths?.['/api/v1/orders']?.get as { responses: JsonObject }).responses['403']).toEqual(own403);
    expect(sut.components?.responses?.Forbidden).toEqual({
      description: expect.any(String) as string,
      content: { 'application/problem+json': { schema: ref('Problem') } },
    });
    expect(schemasOf(sut).Problem).toMatchObject({
      type: 'object',
      properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: {}, instance: {} },
      additionalProperties: true,
    });
  });

  it('skips an unreachable service and lists it so the document can say it is partial', () => {
    const sut = merge([ordersService(), { name: 'replay', document: undefined, pathPrefixes: ['/api/v1/event-replay'] }]);

    expect(sut.info['x-unavailable-services']).toEqual(['replay']);
    expect(Object.keys(sut.paths ?? {})).toEqual(['/api/v1/orders', '/api/v1/orders/{id}']);
    expect(merge([ordersService()]).info).not.toHaveProperty('x-unavailable-services');
  });

  it('leaves the services’ documents untouched', () => {
    const orders = ordersService();
    const cache = cacheService();
    const before = structuredClone([orders.document, cache.document]);

    merge([orders, cache]);

    expect([orders.document, cache.document]).toEqual(before);
  });
});
