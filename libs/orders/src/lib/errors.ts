import { DomainError } from '@keelson/runtime';

export enum OrdersErrorCode {
  CustomerNotFound = 'customer-not-found',
  CustomerEmailTaken = 'customer-email-taken',
  CustomerNotActive = 'customer-not-active',
  ProductNotFound = 'product-not-found',
  ProductSkuTaken = 'product-sku-taken',
  ProductNotActive = 'product-not-active',
  OrderNotFound = 'order-not-found',
  PaymentNotFound = 'payment-not-found',
  InvoiceNotFound = 'invoice-not-found',
  PaymentNotAllowed = 'payment-not-allowed',
  AmountExceedsBalance = 'amount-exceeds-balance',
  IllegalTransition = 'illegal-transition',
  CurrencyMismatch = 'currency-mismatch',
  AmountOverflow = 'amount-overflow',
  VersionMismatch = 'version-mismatch',
}

/** Every failure the orders domain reports to a caller, mapped to HTTP by one exhaustive switch. */
export class OrdersError extends DomainError<OrdersErrorCode> {
  problem(): { status: number; title: string } {
    switch (this.code) {
      case OrdersErrorCode.CustomerNotFound:
      case OrdersErrorCode.ProductNotFound:
      case OrdersErrorCode.OrderNotFound:
      case OrdersErrorCode.PaymentNotFound:
      case OrdersErrorCode.InvoiceNotFound:
        return { status: 404, title: 'Not Found' };
      case OrdersErrorCode.CustomerEmailTaken:
      case OrdersErrorCode.ProductSkuTaken:
      case OrdersErrorCode.IllegalTransition:
      case OrdersErrorCode.PaymentNotAllowed:
        return { status: 409, title: 'Conflict' };
      case OrdersErrorCode.CustomerNotActive:
      case OrdersErrorCode.ProductNotActive:
      case OrdersErrorCode.CurrencyMismatch:
      case OrdersErrorCode.AmountOverflow:
      case OrdersErrorCode.AmountExceedsBalance:
        return { status: 422, title: 'Unprocessable Content' };
      case OrdersErrorCode.VersionMismatch:
        return { status: 412, title: 'Precondition Failed' };
    }
  }
}
