import { OrdersInitial1764050000000 } from './1764050000000-orders-initial';

/** Applied in this order by `main.js migrate`; never edit one that has shipped, add a new one. */
export const ordersMigrations = [OrdersInitial1764050000000];
