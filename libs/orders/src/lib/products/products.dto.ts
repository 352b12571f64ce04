import { PageQuery } from '../page-query';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { IsCurrency, MAX_AMOUNT_MINOR } from '../money';

export class CreateProductDto {
  @ApiProperty({ example: 'KB-001' })
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'sku must be 1–64 letters, digits, dot, dash or underscore' })
  sku!: string;

  @ApiProperty({ example: 'Mechanical keyboard' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ description: 'Price in minor units (cents)', example: 12999 })
  @IsInt({ message: 'priceMinor must be an integer number of minor units (e.g. cents)' })
  @Min(0)
  @Max(MAX_AMOUNT_MINOR)
  priceMinor!: number;

  @ApiProperty({ example: 'EUR' })
  @IsCurrency()
  currency!: string;
}

/** Price changes apply to orders created afterwards; existing orders keep the price they were created with. */
export class UpdateProductDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ description: 'Price in minor units (cents)' })
  @IsOptional()
  @IsInt({ message: 'priceMinor must be an integer number of minor units (e.g. cents)' })
  @Min(0)
  @Max(MAX_AMOUNT_MINOR)
  priceMinor?: number;

  @ApiPropertyOptional({ description: 'false takes the product off sale' })
  @IsOptional()
  @IsBoolean()
  active?: boolean;
}

export class ListProductsQuery extends PageQuery {}

export interface ProductView {
  id: string;
  sku: string;
  name: string;
  priceMinor: number;
  currency: string;
  active: boolean;
  version: number;
}
