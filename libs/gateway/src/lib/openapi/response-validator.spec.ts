import { mergeOpenApi, type JsonObject, type OpenApiDocument } from './merge';
import { createResponseValidator } from './response-validator';

const ok = (schema: JsonObject) => ({ '200': { description: '', content: { 'application/json': { schema } } } });

/** The orders service as @nestjs/swagger documents it, merged the way the gateway publishes it. */
function gatewayDocument(): OpenApiDocument {
  const orders: OpenApiDocument = {
    openapi: '3.0.0',
    info: { title: 'Keelson orders', version: '1' },
    paths: {
      '/api/v1/orders/{id}': {
        get: { operationId: 'OrdersController_get', tags: ['orders'], responses: ok({ $ref: '#/components/schemas/Order' }) },
      },
      '/api/v1/orders/search': {
        get: { operationId: 'OrdersController_search', tags: ['orders'], responses: ok({ type: 'array', items: { type: 'string' } }) },
      },
      '/api/v1/orders': {
        post: { operationId: 'OrdersController_create', tags: ['orders'], responses: { '201': { description: '' } } },
      },
    },
    components: {
      schemas: {
        Line: {
          type: 'object',
          properties: { productId: { type: 'string', format: 'uuid' }, quantity: { type: 'integer', minimum: 1 } },
          required: ['productId', 'quantity'],
        },
        Order: {
          type: 'object',
          properties: {
            id: { type: 'string', format: 'uuid' },
            status: { type: 'string', enum: ['pending', 'paid'] },
            note: { type: 'string', nullable: true },
            lines: { type: 'array', items: { $ref: '#/components/schemas/Line' } },
            createdAt: { type: 'string', format: 'date-time' },
          },
          required: ['id', 'status', 'note', 'lines', 'createdAt'],
        },
      },
    },
  };
  return mergeOpenApi({
    title: 'Keelson API',
    version: '1',
    services: [{ name: 'orders', document: orders, pathPrefixes: ['/api/v1/orders'] }],
    security: () => ({ scopes: ['orders:read'] }),
  });
}

const validOrder = () => ({
  id: '0b6f2c2e-4a53-4c1e-9a57-3c4a0f8d2b11',
  status: 'paid',
  note: null,
  lines: [{ productId: '5f0c7a9e-8d0b-4d43-a1a4-2a1f7d7c9e10', quantity: 2 }],
  createdAt: '2025-01-31T10:15:00.000Z',
});

describe('createResponseValidator', () => {
  const sut = createResponseValidator(gatewayDocument());
  const getOrder = (body: unknown, status = 200, contentType: string | undefined = 'application/json; charset=utf-8') =>
    sut('GET', '/api/v1/orders/0b6f2c2e-4a53-4c1e-9a57-3c4a0f8d2b11', status, contentType, body);

  it('accepts a body that matches the documented schema, through refs and nullable members', () => {
    expect(getOrder(validOrder())).toEqual([]);
    expect(getOrder({ ...validOrder(), note: 'leave at the door' })).toEqual([]);
  });

  it('rejects a body missing a required property', () => {
    const withoutStatus: Partial<ReturnType<typeof validOrder>> = validOrder();
    delete withoutStatus.status;

    expect(getOrder(withoutStatus)).toEqual(["GET /api/v1/orders/{id} 200: body must have required property 'status'"]);
  });

  it('rejects a property of the wrong type, also inside a referenced schema', () => {
    const body = { ...validOrder(), lines: [{ productId: '5f0c7a9e-8d0b-4d43-a1a4-2a1f7d7c9e10', quantity: 'two' }] };

    expect(getOrder(body)).toEqual(['GET /api/v1/orders/{id} 200: body/lines/0/quantity must be integer']);
  });

  it('rejects a value in the wrong format', () => {
    expect(getOrder({ ...validOrder(), id: 'order-42' })).toEqual(['GET /api/v1/orders/{id} 200: body/id must match format "uuid"']);
    expect(getOrder({ ...validOrder(), createdAt: 'yesterday' })).toEqual([
      'GET /api/v1/orders/{id} 200: body/createdAt must match format "date-time"',
    ]);
  });

  it('reports every problem of a body at once', () => {
    expect(getOrder({ ...validOrder(), status: 'lost', note: 3 })).toHaveLength(2);
  });

  it('reports an undocumented status instead of throwing', () => {
    expect(getOrder({}, 418)).toEqual(['GET /api/v1/orders/{id}: status 418 is not documented (documented: 200, 401, 403, 429, 503)']);
  });

  it('checks the gateway’s own problem responses against the shared Problem schema', () => {
    const problem = { type: 'about:blank', title: 'Too Many Requests', status: 429, retryAfterSeconds: 3 };

    expect(getOrder(problem, 429, 'application/problem+json')).toEqual([]);
    expect(getOrder({ ...problem, status: '429' }, 429, 'application/problem+json')).toEqual([
      'GET /api/v1/orders/{id} 429: body/status must be integer',
    ]);
  });

  it('reports an undocumented or missing content type', () => {
    expect(getOrder('<html/>', 200, 'text/html')).toEqual([
      'GET /api/v1/orders/{id} 200: content type text/html is not documented (documented: application/json)',
    ]);
    expect(sut('GET', '/api/v1/orders/1', 200, undefined, undefined)).toEqual([
      'GET /api/v1/orders/{id} 200: no content type; documented: application/json',
    ]);
  });

  it('prefers a literal path segment over a template parameter', () => {
    expect(sut('GET', '/api/v1/orders/search?q=paid', 200, 'application/json', ['a', 'b'])).toEqual([]);
    expect(sut('GET', '/api/v1/orders/search', 200, 'application/json', validOrder())).toEqual([
      'GET /api/v1/orders/search 200: body must be array',
    ]);
  });

  it('does not check a response that documents no content', () => {
    expect(sut('POST', '/api/v1/orders', 201, 'application/json', { anything: true })).toEqual([]);
  });

  it('reports an undocumented path or method', () => {
    expect(sut('GET', '/api/v1/invoices/1', 200, 'application/json', {})).toEqual(['GET /api/v1/invoices/1: no documented path matches']);
    expect(sut('DELETE', '/api/v1/orders/1', 204, undefined, undefined)).toEqual([
      'DELETE /api/v1/orders/{id}: the method is not documented',
    ]);
  });
});
