import { ContractRegistry } from '../lib/contract';
import { authTopic } from './auth/auth.contract';
import { customersTopic } from './customers/customers.contract';
import { invoicesTopic } from './invoices/invoices.contract';
import { ordersTopic } from './orders/orders.contract';
import { paymentsTopic } from './payments/payments.contract';

export { authTopic, customersTopic, invoicesTopic, ordersTopic, paymentsTopic };
export { money } from './money';
export { orderStatus } from './orders/orders.contract';

/** Every topic the platform's services produce, with its event contracts. */
export const platformContracts = [ordersTopic, customersTopic, paymentsTopic, invoicesTopic, authTopic] as const;

export const platformRegistry = (): ContractRegistry => new ContractRegistry(platformContracts);
