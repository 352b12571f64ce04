import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';
import type { CustomerStatus } from './customer.entity';

const trimmed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const lowerCased = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value);

export class CreateCustomerDto {
  @ApiProperty({ example: 'ada@example.com' })
  @Transform(lowerCased)
  @IsEmail({}, { message: 'email must be a valid e-mail address' })
  @Length(3, 254)
  email!: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  @Transform(trimmed)
  @IsString()
  @Length(1, 200)
  name!: string;
}

export class UpdateCustomerDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Transform(lowerCased)
  @IsEmail({}, { message: 'email must be a valid e-mail address' })
  @Length(3, 254)
  email?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional({ enum: ['active', 'suspended'] })
  @IsOptional()
  @IsIn(['active', 'suspended'])
  status?: CustomerStatus;
}

export class ListCustomersQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @Transform(lowerCased)
  @IsEmail()
  email?: string;

  @ApiPropertyOptional({ enum: ['active', 'suspended'] })
  @IsOptional()
  @IsIn(['active', 'suspended'])
  status?: CustomerStatus;

  @ApiPropertyOptional({ default: 50, maximum: 200 })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value))
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor from the previous page' })
  @IsOptional()
  @IsString()
  @Length(1, 512)
  cursor?: string;
}

export class IdParam {
  @IsUUID('all', { message: 'id must be a UUID' })
  id!: string;
}

export interface CustomerView {
  id: string;
  email: string;
  name: string;
  status: CustomerStatus;
  version: number;
  createdAt: string;
  updatedAt: string;
}
