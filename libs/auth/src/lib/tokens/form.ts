import { OAuthError } from './oauth-error';

/** RFC 6749 scope: space-separated NQCHAR tokens. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export function param(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new OAuthError('invalid_request', `parameter ${name} must appear once`);
  return value;
}

/** client_secret_basic or client_secret_post, not both (RFC 6749 §2.3.1). */
export function clientCredentials(authorization: string | undefined, body: Record<string, unknown>): { id: string; secret: string } {
  const postId = param(body, 'client_id');
  const postSecret = param(body, 'client_secret');
  if (authorization?.startsWith('Basic ')) {
    if (postSecret !== undefined) throw new OAuthError('invalid_request', 'use one client authentication method, not two');
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'malformed Basic credentials');
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  }
  if (postId === undefined || postSecret === undefined) throw new OAuthError('invalid_client', 'client authentication is required');
  return { id: postId, secret: postSecret };
}
