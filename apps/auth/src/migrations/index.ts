/** Applied in this order by `main.js migrate`; never edit one that has shipped, add a new one. */
export const migrations: (new () => unknown)[] = [];
