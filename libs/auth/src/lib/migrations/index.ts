import { SigningKeys1764070000000 } from './1764070000000-signing-keys';
import { Clients1764080000000 } from './1764080000000-clients';
import { UsersRefreshTokens1764090000000 } from './1764090000000-users-refresh-tokens';

/** Applied in this order by `main.js migrate`; never edit one that has shipped, add a new one. */
export const authMigrations = [SigningKeys1764070000000, Clients1764080000000, UsersRefreshTokens1764090000000];
