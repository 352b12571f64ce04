import { DomainError } from '@keelson/runtime';

/** RFC 6749 §5.2 error codes of the token endpoint. */
export type OAuthErrorCode =
  'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope';

/**
 * An OAuth error. The response is problem+json that also carries RFC 6749's `error` and
 * `error_description` members, so OAuth client libraries and problem-aware clients both read it.
 */
export class OAuthError extends DomainError<OAuthErrorCode> {
  problem(): { status: number; title: string } {
    switch (this.code) {
      case 'invalid_client':
        return { status: 401, title: 'Unauthorized' };
      case 'invalid_request':
      case 'invalid_grant':
      case 'unauthorized_client':
      case 'unsupported_grant_type':
      case 'invalid_scope':
        return { status: 400, title: 'Bad Request' };
    }
  }

  override extensions(): Record<string, unknown> {
    return { error: this.code, error_description: this.message };
  }

  override headers(): Record<string, string> {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (this.code === 'invalid_client') headers['www-authenticate'] = 'Basic realm="keelson", charset="UTF-8"';
    return headers;
  }
}
