import { PageQuery } from '../page-query';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsIn, IsOptional, IsString, IsUUID, Length } from 'class-validator';
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

export class ListCustomersQuery extends PageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @Transform(lowerCased)
  @IsEmail()
  email?: string;

  @ApiPropertyOptional({ enum: ['active', 'suspended'] })
  @IsOptional()
  @IsIn(['active', 'suspended'])
  status?: CustomerStatus;
}

export class IdParam {
  @ApiProperty({ format: 'uuid' })
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
