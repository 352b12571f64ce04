import type { Page } from '@keelson/database';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { InvoiceIdParam, InvoicesService, ListInvoicesQuery, type InvoiceView } from './invoices.service';

/** Invoices are issued by the capture that settles an order; they are read-only here. */
@ApiTags('invoices')
@Controller('api/v1/invoices')
export class InvoicesController {
  constructor(private readonly invoices: InvoicesService) {}

  @Get()
  @ApiOperation({ summary: 'List invoices, optionally for one order' })
  list(@Query() query: ListInvoicesQuery): Promise<Page<InvoiceView>> {
    return this.invoices.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get an invoice' })
  get(@Param() { id }: InvoiceIdParam): Promise<InvoiceView> {
    return this.invoices.get(id);
  }
}
