import { missingScopes } from './access-token-verifier';

describe('missingScopes', () => {
  it('lists what the token lacks, ignoring order and extra spaces', () => {
    expect(missingScopes({ scope: 'orders:read  orders:write' }, ['orders:write', 'orders:read'])).toEqual([]);
    expect(missingScopes({ scope: 'orders:read' }, ['orders:read', 'replay:admin'])).toEqual(['replay:admin']);
    expect(missingScopes({ scope: '' }, ['orders:read'])).toEqual(['orders:read']);
  });

  it('does not treat a scope prefix as the scope', () => {
    expect(missingScopes({ scope: 'orders:read' }, ['orders'])).toEqual(['orders']);
  });
});
