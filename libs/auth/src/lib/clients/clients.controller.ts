import { AuthGuard, Scopes } from '@keelson/auth-client';
import { Body, Controller, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsIn, IsString, Length } from 'class-validator';
import { PLATFORM_SCOPES } from '../scopes';
import { ClientsService, type IssuedClient } from './clients.service';
import type { GrantType } from './oauth-client.entity';

const GRANT_TYPES: GrantType[] = ['client_credentials', 'password', 'refresh_token'];

export class CreateClientDto {
  @ApiProperty({ example: 'reporting job' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ enum: PLATFORM_SCOPES, isArray: true })
  @ArrayMinSize(1)
  @ArrayMaxSize(PLATFORM_SCOPES.length)
  @IsIn(PLATFORM_SCOPES, { each: true, message: `each scope must be one of ${PLATFORM_SCOPES.join(', ')}` })
  scopes!: string[];

  @ApiProperty({ enum: GRANT_TYPES, isArray: true })
  @ArrayMinSize(1)
  @IsIn(GRANT_TYPES, { each: true, message: `each grant type must be one of ${GRANT_TYPES.join(', ')}` })
  grantTypes!: GrantType[];
}

/** Client administration; needs a token with `auth:admin`. The secret is shown once, in the 201. */
@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/v1/auth/clients')
@UseGuards(AuthGuard)
export class ClientsController {
  constructor(private readonly clients: ClientsService) {}

  @Post()
  @ApiOperation({ summary: 'Register an OAuth client (the secret is shown once)' })
  @Scopes('auth:admin')
  create(@Body() body: CreateClientDto): Promise<IssuedClient> {
    return this.clients.create({ name: body.name, scopes: [...new Set(body.scopes)], grantTypes: [...new Set(body.grantTypes)] });
  }
}
