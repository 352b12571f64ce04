// Artillery processor for flows.yml: the run's setup (the `before` hook, in Artillery's main
// thread) and the small pieces of client behaviour YAML cannot say (token cache, basket,
// which known order to browse). Module state is per load-generator worker.
import { randomInt, randomUUID } from 'node:crypto';

const RENEW_BEFORE_MS = 60_000;
const KNOWN_ORDERS_KEPT = 1_000;
const CURRENCY = 'EUR';
const PRODUCT_PRICES_MINOR = [1_299, 2_599, 4_999, 8_900, 15_000];

/** This worker's token, shared by its visits as a client application shares its token. */
const token = { value: undefined, expiresAt: 0, renewing: false };
/** Orders paid by this worker's visits, for the browse flow to read back. */
const knownOrders = [];

/** A small fetch wrapper for the setup: JSON or form in, JSON out, any non-2xx throws. */
async function call(base, method, path, { bearer, basic, json, form } = {}) {
  const headers = {};
  let body;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (basic) headers.authorization = `Basic ${Buffer.from(`${basic.id}:${basic.secret}`).toString('base64')}`;
  if (json) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  }
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const response = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`load-tests setup: ${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/** `before` hook: products tagged with this run and one paid order, so every flow has data from the first second. */
export async function prepareRun(context) {
  const { LOAD_CLIENT_ID: id, LOAD_CLIENT_SECRET: secret } = process.env;
  if (!id || !secret) {
    throw new Error('load-tests: set LOAD_CLIENT_ID and LOAD_CLIENT_SECRET (a client with orders:read and orders:write)');
  }
  const base = `${context.vars.target}/api/v1`;
  const { access_token: bearer } = await call(base, 'POST', '/auth/token', {
    basic: { id, secret },
    form: { grant_type: 'client_credentials', scope: 'orders:read orders:write' },
  });
  const run = `${Date.now().toString(36)}${randomInt(1_000).toString(36)}`;
  const productIds = [];
  for (const [i, priceMinor] of PRODUCT_PRICES_MINOR.entries()) {
    const product = await call(base, 'POST', '/products', {
      bearer,
      json: { sku: `LOAD-${run}-${i}`, name: `Load test item ${i}`, priceMinor, currency: CURRENCY },
    });
    productIds.push(product.id);
  }
  const customer = await call(base, 'POST', '/customers', { bearer, json: { email: `load-${run}@example.com`, name: 'Load Test' } });
  const order = await call(base, 'POST', '/orders', {
    bearer,
    json: { customerId: customer.id, currency: CURRENCY, lines: [{ productId: productIds[0], quantity: 1 }] },
  });
  await call(base, 'POST', `/orders/${order.id}/confirm`, { bearer });
  await call(base, 'POST', '/payments', {
    bearer,
    json: { orderId: order.id, kind: 'capture', amountMinor: order.totalMinor, currency: CURRENCY },
  });
  context.vars.productIds = productIds;
  context.vars.seedOrder = { customerId: customer.id, orderId: order.id };
}

/** beforeScenario: the counters the thresholds read exist from the first visit, at 0 until something goes wrong. */
export async function startVisit(context, events) {
  for (const name of ['keelson.responses.4xx', 'keelson.responses.5xx', 'keelson.purchase.not_paid']) events.emit('counter', name, 0);
}

/**
 * afterResponse: a visit stops at its first answer that is not 2xx, as a client would (no paying
 * for an order whose confirmation failed). The flows only send valid requests, so a 4xx is a
 * finding too (429, 401, 409 …), counted apart from 5xx.
 */
export async function checkStatus(request, response, context, events) {
  const status = response.statusCode;
  if (status >= 200 && status < 300) return;
  events.emit('counter', status >= 500 ? 'keelson.responses.5xx' : 'keelson.responses.4xx', 1);
  // Throwing skips the hooks after this one, metrics-by-endpoint's among them: record its two
  // metrics here, so the per-request-name codes and times include the failed answers.
  events.emit('counter', `plugins.metrics-by-endpoint.${request.name}.codes.${status}`, 1);
  events.emit('histogram', `plugins.metrics-by-endpoint.response_time.${request.name}`, response.timings.phases.firstByte);
  throw new Error(`status ${status}`);
}

/** Use the worker's token; one visit renews it a minute before it expires while the others keep using it. */
export async function useCachedToken(context) {
  const now = Date.now();
  const valid = token.value !== undefined && now < token.expiresAt;
  if (valid && (now < token.expiresAt - RENEW_BEFORE_MS || token.renewing)) {
    context.vars.accessToken = token.value;
    context.vars.needToken = false;
    return;
  }
  token.renewing = valid;
  context.vars.needToken = true;
}

export async function keepToken(context) {
  if (!context.vars.needToken) return;
  token.value = context.vars.accessToken;
  token.expiresAt = Date.now() + Number(context.vars.expiresIn) * 1_000;
  token.renewing = false;
}

const pick = (items) => items[randomInt(items.length)];

/** browse: an order (and its customer) that an earlier visit of this worker paid, or the run's first one. */
export async function pickKnownOrder(context) {
  const { customerId, orderId } = knownOrders.length > 0 ? pick(knownOrders) : context.vars.seedOrder;
  context.vars.customerId = customerId;
  context.vars.orderId = orderId;
}

/** purchase: 1–3 products, 1–3 of each; a returning customer half of the time. */
export async function pickBasket(context) {
  const productIds = [...context.vars.productIds];
  const lines = [];
  for (let n = randomInt(1, 4); n > 0; n -= 1) {
    const [productId] = productIds.splice(randomInt(productIds.length), 1);
    lines.push({ productId, quantity: randomInt(1, 4) });
  }
  context.vars.lines = lines;
  context.vars.idempotencyKey = randomUUID();
  context.vars.newCustomer = knownOrders.length === 0 || randomInt(2) === 0;
  if (context.vars.newCustomer) context.vars.email = `load-${randomUUID()}@example.com`;
  else context.vars.customerId = pick(knownOrders).customerId;
}

/** purchase: the read after the capture must see the order paid (the write evicted the cached copy). */
export async function rememberOrder(context, events) {
  if (context.vars.status !== 'paid') events.emit('counter', 'keelson.purchase.not_paid', 1);
  knownOrders.push({ customerId: context.vars.customerId, orderId: context.vars.orderId });
  if (knownOrders.length > KNOWN_ORDERS_KEPT) knownOrders.shift();
}
