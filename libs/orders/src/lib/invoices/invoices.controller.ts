import type { Page } from '@keelson/database';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InvoiceIdParam, InvoicesService, ListInvoicesQuery, type InvoiceView } from './invoices.service';

/** Invoices are issued by the capture that settles an order; they are read-only here. */
@ApiTags('invoices')
@Controller('api/v1/invoices')
export class InvoicesController {
  constructor(private readonly invoices: InvoicesService) {}

  @Get()
  list(@Query() query: ListInvoicesQuery): Promise<Page<InvoiceView>> {
    return this.invoices.list(query);
  }

  @Get(':id')
  get(@Param() { id }: InvoiceIdParam): Promise<InvoiceView> {
    return this.invoices.get(id);
  }
}
