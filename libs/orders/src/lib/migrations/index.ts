import { OrdersInitial1764050000000 } from './1764050000000-orders-initial';
import { PaymentsInvoices1764060000000 } from './1764060000000-payments-invoices';
import { ChangeNotificationTime1764100000000 } from './1764100000000-change-notification-time';

/** Applied in this order by `main.js migrate`; never edit one that has shipped, add a new one. */
export const ordersMigrations = [OrdersInitial1764050000000, PaymentsInvoices1764060000000, ChangeNotificationTime1764100000000];
