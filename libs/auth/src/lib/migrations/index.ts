import { SigningKeys1764070000000 } from './1764070000000-signing-keys';

/** Applied in this order by `main.js migrate`; never edit one that has shipped, add a new one. */
export const authMigrations = [SigningKeys1764070000000];
